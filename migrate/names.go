package migrate

// DjangoMaxIndexName is the longest index name Django accepts (its system
// check models.E034). Names of every other kind come from internal/indexdef.
const DjangoMaxIndexName = 30
