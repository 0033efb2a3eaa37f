"""Read the MESS registrations from the installed ``mess-benchmark`` package, without detectron2.

``pip install mess-benchmark`` (docs/MESS.md). Importing ``mess.datasets`` registers every
entry in detectron2's catalogs when detectron2 is importable, otherwise in the package's own
copy (``mess.utils.catalog``); the register files read ``$DETECTRON2_DATASETS`` at import
time. :func:`catalogs` returns the catalogs the registrations went into, re-registered under
the data dir asked for; its ``mess.datasets.MMSegDataset`` (mmseg 0.x) is never imported.

The toolkit evaluates from its committed class-name files (``radseg/class_names/mess/``) so that
``eval.py`` needs neither the package nor its dependencies (rasterio, gdown, ...);
``python -m radseg.data.mess_package`` rewrites those files from the registrations and
``tests/test_mess.py`` checks that they are equal.

No mmseg / mmengine / mmcv imports here.
"""
from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..errors import DatasetError
from .mess import MESS_ENTRIES, MessEntry

_INSTALL = "pip install mess-benchmark iopath"


def _import_registers() -> List[object]:
    """The ``mess.datasets.register_*`` modules (imports ``mess.datasets``: everything registers)."""
    try:
        import mess.datasets as ds
    except ImportError as e:
        raise DatasetError(f"the MESS package cannot be imported ({e}): {_INSTALL}") from None
    names = [m.name for m in pkgutil.iter_modules(ds.__path__) if m.name.startswith("register_")
             and m.name != "register_TEMPLATE"]
    return [importlib.import_module(f"mess.datasets.{n}") for n in sorted(names)]


def catalogs(data_dir: Optional[os.PathLike] = None) -> Tuple[object, object]:
    """``(DatasetCatalog, MetadataCatalog)`` holding MESS's registrations.

    With ``data_dir``, every entry is registered again under it (each register module's own
    ``register_dataset(root)``), so ``DatasetCatalog.get(name)`` lists that folder exactly as
    ``mess/prepare_all_datasets.py --dataset_dir DATA_DIR --stats`` would.
    """
    if "mess.datasets" not in sys.modules and data_dir is not None:
        os.environ.setdefault("DETECTRON2_DATASETS", str(data_dir))
    modules = _import_registers()
    d_cat = modules[0].DatasetCatalog
    m_cat = modules[0].MetadataCatalog
    if data_dir is not None:
        for mod in modules:
            before = set(d_cat.list())
            # the register file's names: those it registers; remove them, then register under data_dir
            names = [n for n in before if _module_of(n) == mod.__name__.rsplit("register_", 1)[1]]
            for n in names:
                d_cat.remove(n)
                m_cat.remove(n)
            _register_function(mod)(str(data_dir))
    return d_cat, m_cat


def _register_function(mod):
    """The module's own ``register_*(root)`` function (``register_dataset``; FloodNet's is
    ``register_floodnet``)."""
    funcs = [f for n, f in vars(mod).items() if n.startswith("register") and inspect.isfunction(f)
             and f.__module__ == mod.__name__]
    if len(funcs) != 1:
        raise DatasetError(f"{mod.__name__} has {len(funcs)} register functions; this mess-benchmark version "
                           f"is not the one radseg reads (0.2).")
    return funcs[0]


#: registered-name prefixes that differ from their module's name (register_foodseg: foodseg103_...)
_MODULE_OF_PREFIX = {"foodseg103": "foodseg"}


def _module_of(registered: str) -> str:
    """The register module (``register_<x>``) that registers ``registered``: ``x``."""
    prefix = registered.split("_sem_seg", 1)[0]
    return _MODULE_OF_PREFIX.get(prefix, prefix)


def registered_facts(e: MessEntry, m_cat) -> Dict[str, object]:
    """What the package registers for entry ``e``: class names, ignore label, folders (relative
    to the registered data dir)."""
    meta = m_cat.get(e.registered)
    return {"classes": list(meta.stuff_classes), "ignore_label": meta.ignore_label,
            "image_root": meta.image_root, "sem_seg_root": meta.sem_seg_root}


def class_file_text(classes) -> str:
    """A class-name file: one registered name per line (MESS's names hold no ',' or ';')."""
    return "".join(f"{c}\n" for c in classes)


def write_class_files(out_dir: Path) -> List[Path]:
    """Write ``<out_dir>/<key>.txt`` for the 25 entries from the registrations."""
    _, m_cat = catalogs()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for e in MESS_ENTRIES.values():
        p = out_dir / f"{e.key}.txt"
        p.write_text(class_file_text(registered_facts(e, m_cat)["classes"]), encoding="utf-8")
        written.append(p)
    return written


def main(argv=None) -> int:
    """``python -m radseg.data.mess_package [OUT_DIR]``: regenerate the class-name files."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "class_names" / "mess"
    try:
        for p in write_class_files(out):
            print(p)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
