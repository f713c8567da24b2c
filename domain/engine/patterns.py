"""Cell patterns used for type inference, conversion and flags (regular expressions, RE2/Rust
syntax, matched on trimmed non-null cells)."""

from __future__ import annotations

from typing import Final

INTEGER: Final = r"^[+-]?\d+$"
DECIMAL: Final = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"  # integers included
# Numbers a safe conversion can normalise: thousands separators and/or a currency sign. A
# thousands group never follows a leading 0 ("0,125" is a decimal comma).
FORMATTED_NUMBER: Final = (
    r"^[+-]?(?:[$€£¥]\s?)?(?:[1-9]\d{0,2}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?[$€£¥])?$"
)
# One comma group and nothing else ("1,500"): 1500 with a thousands separator, or 1.5 with a
# decimal comma. Converted only where the column shows comma thousands separators elsewhere.
LONE_GROUP: Final = r"^[+-]?[1-9]\d{0,2},\d{3}$"
# A comma that can only be a decimal mark: not followed by exactly three digits, or after a
# leading 0 ("2,5", "0,125", "3,1416").
DECIMAL_COMMA: Final = r"^[+-]?(?:\d+,(?:\d{1,2}|\d{4,})|0,\d+)$"
FORMATTING_CHARS: Final = r"[$€£¥,\s]"
BOOLEAN: Final = r"^(?i:true|false|yes|no|y|n|t|f)$"
DATE_ISO: Final = r"^\d{4}-\d{2}-\d{2}$"
DATE_OTHER: Final = (
    r"^(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}/\d{1,2}/\d{1,2}|\d{4}\.\d{1,2}\.\d{1,2})$"
)
DATETIME: Final = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
LEADING_ZERO: Final = r"^0\d+$"
FORMULA_START: Final = r"^[=+\-@]"
# A decimal printed from a binary float with its rounding residue: 16+ characters ending in a
# run of six or more zeros or nines and one to three last digits, the last not a zero
# (3.2260000000000004, 0.19999999999999998).
FLOAT_NOISE: Final = r"^[+-]?\d*\.\d*?(?:0{6,}|9{6,})\d{0,2}[1-9]$"
FLOAT_NOISE_MIN_LENGTH: Final = 16

# Type candidates counted in pass 1 (pruned per column once they cannot reach the
# type_fit_share). "decimal" and "formatted" are counted by parsing (see cells.as_number), the
# others with their pattern.
REGEX_COUNTED: Final = ("boolean", "date_iso", "date_other", "datetime")
CANDIDATES: Final = {
    "decimal": DECIMAL,
    "formatted": FORMATTED_NUMBER,
    "boolean": BOOLEAN,
    "date_iso": DATE_ISO,
    "date_other": DATE_OTHER,
    "datetime": DATETIME,
}
