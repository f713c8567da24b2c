"""Text that is safe to show: names without control characters, URLs without credentials.

:func:`escape_name` is applied wherever an input name (or any text from outside) is printed,
logged, or stored in a report or workbook: a name cannot split a one-line error, forge a log
line, colour a terminal or reverse the text around it.

:func:`mask_credentials` is applied wherever a URL (or a message that may hold one) is shown:
the password of a URL's userinfo and the values of credential-like parameters
(``?password=``, ``&X-Amz-Signature=``, ``secret=`` ...) become ``***``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MASK: Final = "***"

# Characters that change how the text around them is displayed without being visible:
# bidirectional embeddings, overrides and isolates, and the directional marks.
_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_SHOWN_AS_IS: Final = frozenset(" ")


def _needs_escape(char: str) -> bool:
    if char in _SHOWN_AS_IS:
        return False
    if char in _BIDI_CONTROLS:
        return True
    # Cc: C0/C1 controls (newline, ESC, DEL ...); Zl/Zp: line and paragraph separators;
    # Cs: lone surrogates (the undecodable bytes of a file name), which cannot be printed.
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp")


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_name(text: str) -> str:
    """``text`` with every control, line-separator, surrogate and bidi-control character as a
    visible escape (``\\n`` -> ``\\x0a``, ESC -> ``\\x1b``, U+202E -> ``\\u202e``); any other
    text, unicode included, unchanged. The result encodes as UTF-8 and is one line."""
    if not any(_needs_escape(char) for char in text):
        return text
    return "".join(_escape_char(char) if _needs_escape(char) else char for char in text)


_SENSITIVE_NAMES: Final = (
    r"password|passwd|pwd|secret|token|signature|credential|authorization|"
    r"api[_-]?key|access[_-]?key"
)
# scheme://user:PASSWORD@ : the password is whatever lies between the first ':' after the
# user name and the '@' (SQLAlchemy's reading, where a password may hold '/').
_USERINFO: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@")
# name=VALUE where the name holds a secret word: in a query string, or free text.
_PARAMETER: Final = re.compile(
    rf"(?P<head>(?:^|(?<=[?&;\s,(\"']))[A-Za-z0-9_.-]*?(?:{_SENSITIVE_NAMES})[A-Za-z0-9_.-]*=)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^&;\s#,)\"']*)",
    re.IGNORECASE,
)


def mask_credentials(text: str) -> str:
    """``text`` (a URL, or a message that may hold URLs) with its credentials masked: the
    password of each ``scheme://user:password@host`` and the value of each parameter whose name
    says it is a secret (``password=``, ``X-Amz-Signature=``, ``aws_secret_access_key=``)."""
    masked = _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _PARAMETER.sub(lambda m: f"{m.group('head')}{MASK}", masked)
