"""Result records of evaluation runs (JSON) and their rendering."""
from .records import RECORD_SCHEMA, atomic_write_text, format_summary, is_complete_record, load_record, write_run_record
from .reference import ReferenceFileError, load_reference
from .table import build_per_class, build_table, find_records, render, render_per_class

__all__ = ["RECORD_SCHEMA", "atomic_write_text", "format_summary", "is_complete_record",
           "load_record", "write_run_record", "ReferenceFileError", "load_reference",
           "build_per_class", "build_table", "find_records", "render", "render_per_class"]
