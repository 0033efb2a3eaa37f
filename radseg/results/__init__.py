"""Result records of evaluation runs (JSON) and their rendering."""
from .records import (RECORD_SCHEMA, atomic_write_text, format_summary, is_complete_record,
                      load_record, write_run_record)

__all__ = ["RECORD_SCHEMA", "atomic_write_text", "format_summary", "is_complete_record",
           "load_record", "write_run_record"]
