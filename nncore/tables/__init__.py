"""Tables: reading CSV files with pandas, telling what each column is, and the recorded
preprocessing that turns a table into features.

* :func:`read_table` (:mod:`nncore.tables.read`) reads a file in chunks (progress and
  cancel for a worker thread), detecting encoding, delimiter and header.
* :func:`describe_columns` (:mod:`nncore.tables.columns`) gives each column's kind
  (number, category, date, identifier, constant, text) with the reason, its missing
  count and its default role (feature, target, ignore).
* :class:`PipelineSpec` and :class:`Pipeline` (:mod:`nncore.tables.pipeline`): the user's
  choices as JSON, fitted on the training rows only and applied identically to every
  row, in training, evaluation and prediction.
* :func:`table_dataset` (:mod:`nncore.tables.dataset`): a table to a
  :class:`~nncore.data.Dataset`, with a :class:`LoadReport` (one summary line).
"""

from __future__ import annotations

from nncore.tables.read import (DELIMITERS, NA_VALUES, HeaderGuess, ReadCancelled, Table,
                                guess_header, is_header, read_table, sniff_delimiter)
from nncore.tables.columns import (IGNORED_KINDS, KINDS, ROLES, TARGET_NAMES, ColumnInfo,
                                   column_kind, default_target, describe_columns)
from nncore.tables.pipeline import (COLUMN_CHOICES, DATE_PARTS, ENCODINGS, MISSING, SPEC_KEYS,
                                    Pipeline, PipelineSpec)
from nncore.tables.dataset import LoadReport, resolve_target, table_dataset

__all__ = ["read_table", "Table", "ReadCancelled", "guess_header", "is_header",
           "sniff_delimiter", "HeaderGuess", "NA_VALUES", "DELIMITERS",
           "describe_columns", "column_kind", "default_target", "ColumnInfo", "KINDS",
           "ROLES", "TARGET_NAMES", "IGNORED_KINDS",
           "PipelineSpec", "Pipeline", "MISSING", "ENCODINGS", "COLUMN_CHOICES", "DATE_PARTS",
           "SPEC_KEYS",
           "table_dataset", "resolve_target", "LoadReport"]
