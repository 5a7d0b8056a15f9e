# Reads a Django project's apps, models and migrations with Python's ast,
# for hishamos-perf's Django emitter (migrate/djangoproject.go). Nothing of
# the project is imported or run: no settings, no database, no
# dependencies, only the source text. Prints one JSON document on stdout.
#
#   python3 -I -S -B djangoproject.py PROJECT_DIR
import ast
import json
import os
import re
import sys

if sys.version_info < (3, 8):
    sys.stderr.write("python 3.8 or newer is needed (ast's end positions)\n")
    sys.exit(3)

# Folders that hold no app of the project.
SKIP = {"__pycache__", "node_modules", "site-packages", "dist-packages", "migrations", "static", "templates"}
# What makes a class attribute a model field: the field classes.
FK = {"ForeignKey", "OneToOneField"}
NO_COLUMN = {"ManyToManyField", "GenericForeignKey", "GenericRelation"}
MIGRATION_NAME = re.compile(r"^[A-Za-z0-9_]+\.py$")
# The index a CREATE INDEX in a RunSQL names.
SQL_INDEX = re.compile(r'CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"((?:[^"]|"")+)"', re.I)


def name_of(node):
    """The dotted name an expression spells (models.Model), or None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = name_of(node.value)
        return base + "." + node.attr if base else None
    return None


def literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


def parse(path, errors):
    try:
        with open(path, "rb") as f:
            src = f.read()
        return ast.parse(src, filename=path), src.decode("utf-8", "surrogateescape")
    except SyntaxError as e:
        errors.append("%s:%s: %s" % (path, e.lineno, e.msg))
    except (OSError, ValueError) as e:
        errors.append("%s: %s" % (path, e))
    return None, None


def is_venv(path):
    return os.path.exists(os.path.join(path, "pyvenv.cfg"))


def app_label(app_dir, errors):
    """The label of the app in app_dir: its AppConfig's label, else the last
    part of the AppConfig's name, else the folder's name."""
    label = os.path.basename(app_dir)
    tree, _ = parse(os.path.join(app_dir, "apps.py"), []) if os.path.exists(os.path.join(app_dir, "apps.py")) else (None, None)
    if tree is None:
        return label, "folder"
    configs = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any((name_of(b) or "").endswith("AppConfig") for b in node.bases):
            attrs = {}
            for st in node.body:
                if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                    attrs[st.targets[0].id] = literal(st.value)
            configs.append(attrs)
    if len(configs) > 1:
        configs = [c for c in configs if c.get("default") is True] or configs[:1]
    for c in configs:
        if isinstance(c.get("label"), str):
            return c["label"], "apps.py label"
        if isinstance(c.get("name"), str):
            return c["name"].rsplit(".", 1)[-1], "apps.py name"
    return label, "folder"


def position(node):
    return {"line": node.lineno, "col": node.col_offset, "end_line": node.end_lineno, "end_col": node.end_col_offset}


def read_models(path, rel, label, errors):
    tree, src = parse(path, errors)
    if tree is None:
        return [], None
    imports = []
    last_import = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last_import = node.end_lineno
            names = [{"name": a.name, "as": a.asname or ""} for a in node.names]
            imports.append({"module": getattr(node, "module", None) or "", "level": getattr(node, "level", 0) or 0, "names": names, "from": isinstance(node, ast.ImportFrom)})
    classes = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        c = {"class": node.name, "file": rel, "app": label, "bases": [name_of(b) or ast.get_source_segment(src, b) or "" for b in node.bases],
             "pos": position(node), "body_line": node.body[0].lineno, "body_col": node.body[0].col_offset, "fields": [], "meta": None}
        for st in node.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) and isinstance(st.value, ast.Call):
                kind = (name_of(st.value.func) or "").rsplit(".", 1)[-1]
                if not (kind.endswith("Field") or kind in FK or kind in NO_COLUMN):
                    continue
                field = st.targets[0].id
                column = field + "_id" if kind in FK else field
                for kw in st.value.keywords:
                    if kw.arg == "db_column" and isinstance(literal(kw.value), str):
                        column = literal(kw.value)
                if kind not in NO_COLUMN:
                    c["fields"].append({"name": field, "column": column})
            elif isinstance(st, ast.ClassDef) and st.name == "Meta":
                meta = {"pos": position(st), "body_line": st.body[0].lineno, "body_col": st.body[0].col_offset, "bases": [ast.get_source_segment(src, b) or "" for b in st.bases],
                        "attrs": {}, "indexes": None}
                for m in st.body:
                    if isinstance(m, ast.Assign) and len(m.targets) == 1 and isinstance(m.targets[0], ast.Name):
                        key = m.targets[0].id
                        if key == "indexes":
                            v = m.value
                            ix = {"pos": position(v), "kind": type(v).__name__, "stmt": position(m), "items": []}
                            if isinstance(v, (ast.List, ast.Tuple)):
                                ix["items"] = [dict(position(e), text=ast.get_source_segment(src, e) or "") for e in v.elts]
                            meta["indexes"] = ix
                        else:
                            val = literal(m.value)
                            if isinstance(val, (str, bool)):
                                meta["attrs"][key] = val
                c["meta"] = meta
        classes.append(c)
    return classes, {"file": rel, "imports": imports, "last_import": last_import}


def index_names(tree):
    """The names of the indexes a migration creates: models.Index (or any
    *Index) name= literals, and the CREATE INDEX statements of RunSQL."""
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = (name_of(node.func) or "").rsplit(".", 1)[-1]
        if func.endswith("Index"):
            for kw in node.keywords:
                if kw.arg == "name" and isinstance(literal(kw.value), str):
                    names.append(literal(kw.value))
        elif func == "RunSQL":
            for arg in list(node.args) + [kw.value for kw in node.keywords if kw.arg == "sql"]:
                v = literal(arg)
                for sql in v if isinstance(v, (list, tuple)) else [v]:
                    if isinstance(sql, str):
                        names += [m.replace('""', '"') for m in SQL_INDEX.findall(sql)]
    return names


def read_migrations(mig_dir, rel, label, errors):
    nodes = {}
    indexes = {}
    for entry in sorted(os.listdir(mig_dir)):
        if entry.startswith(("_", "~")) or not MIGRATION_NAME.match(entry):
            continue
        name = entry[:-3]
        tree, _ = parse(os.path.join(mig_dir, entry), errors)
        deps, replaces = [], []
        if tree is not None:
            for n in index_names(tree):
                indexes.setdefault(n, name)
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and node.name == "Migration":
                    for st in node.body:
                        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                            key = st.targets[0].id
                            if key in ("dependencies", "replaces") and isinstance(st.value, (ast.List, ast.Tuple)):
                                pairs = []
                                for e in st.value.elts:
                                    v = literal(e)
                                    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, str) for x in v):
                                        pairs.append(list(v))
                                if key == "dependencies":
                                    deps = pairs
                                else:
                                    replaces = pairs
        nodes[name] = {"deps": deps, "replaces": replaces}
    # A squashed migration stands for the ones it replaces.
    replaced = {}
    for name, n in nodes.items():
        for app, r in n["replaces"]:
            if app == label and r in nodes:
                replaced[r] = name
    parents = set()
    for name, n in nodes.items():
        if name in replaced:
            continue
        for app, d in n["deps"]:
            if app == label:
                parents.add(replaced.get(d, d))
    leaves = sorted(n for n in nodes if n not in replaced and n not in parents)
    return {"dir": rel, "names": sorted(nodes), "leaves": leaves, "indexes": indexes}


def main(root):
    root = os.path.abspath(root)
    errors, apps, models, files = [], [], [], []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP and not is_venv(os.path.join(dirpath, d)))
        has_models = "models.py" in filenames or os.path.isfile(os.path.join(dirpath, "models", "__init__.py"))
        mig_dir = os.path.join(dirpath, "migrations")
        has_migrations = os.path.isfile(os.path.join(mig_dir, "__init__.py"))
        if not (has_models or has_migrations) or dirpath == root and not has_migrations:
            continue
        label, label_from = app_label(dirpath, errors)
        rel = os.path.relpath(dirpath, root)
        app = {"label": label, "label_from": label_from, "dir": rel, "migrations": None}
        if has_migrations:
            app["migrations"] = read_migrations(mig_dir, os.path.relpath(mig_dir, root), label, errors)
        apps.append(app)
        paths = []
        if "models.py" in filenames:
            paths.append(os.path.join(dirpath, "models.py"))
        pkg = os.path.join(dirpath, "models")
        if os.path.isdir(pkg):
            paths += [os.path.join(pkg, f) for f in sorted(os.listdir(pkg)) if f.endswith(".py")]
        for p in paths:
            classes, info = read_models(p, os.path.relpath(p, root), label, errors)
            models += classes
            if info:
                files.append(info)
    json.dump({"root": root, "apps": apps, "classes": models, "files": files, "errors": errors}, sys.stdout)


main(sys.argv[1])
