"""Reading PHP ``serialize()`` output, as WordPress stores arrays in meta tables.

Only plain data is accepted: arrays, strings, integers, floats, booleans and null. Objects,
references and anything else raise :class:`PhpValueError`; nothing is ever instantiated or
evaluated. String lengths are byte counts (PHP strings are bytes), so non-ASCII text is read
correctly.
"""

from __future__ import annotations

from typing import Any


class PhpValueError(ValueError):
    """The text is not a PHP-serialized plain value."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, what: str) -> PhpValueError:
        return PhpValueError(f"not a PHP-serialized value: {what} at byte {self.pos}")

    def expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.pos):
            raise self.fail(f"expected {token.decode()!r}")
        self.pos += len(token)

    def until(self, stop: bytes) -> bytes:
        end = self.data.find(stop, self.pos)
        if end < 0:
            raise self.fail(f"missing {stop.decode()!r}")
        chunk = self.data[self.pos : end]
        self.pos = end + len(stop)
        return chunk

    def integer(self, stop: bytes) -> int:
        raw = self.until(stop)
        try:
            return int(raw)
        except ValueError:
            raise self.fail(f"bad integer {raw!r}") from None

    def value(self) -> Any:
        if self.pos + 1 >= len(self.data):
            raise self.fail("unexpected end")
        kind = self.data[self.pos : self.pos + 2]
        self.pos += 2
        if kind == b"N;":
            return None
        if kind == b"b:":
            return self.integer(b";") != 0
        if kind == b"i:":
            return self.integer(b";")
        if kind == b"d:":
            raw = self.until(b";")
            try:
                return float(raw)
            except ValueError:
                raise self.fail(f"bad float {raw!r}") from None
        if kind == b"s:":
            return self.string()
        if kind == b"a:":
            return self.array()
        raise self.fail(f"unsupported type {kind.decode(errors='replace')!r}")

    def string(self) -> str:
        length = self.integer(b":")
        self.expect(b'"')
        raw = self.data[self.pos : self.pos + length]
        if len(raw) != length:
            raise self.fail("string shorter than its length")
        self.pos += length
        self.expect(b'";')
        return raw.decode("utf-8", errors="replace")

    def array(self) -> dict[Any, Any]:
        count = self.integer(b":")
        self.expect(b"{")
        out: dict[Any, Any] = {}
        for _ in range(count):
            key = self.value()
            if not isinstance(key, int | str):
                raise self.fail("array key is not an integer or string")
            out[key] = self.value()
        self.expect(b"}")
        return out


def unserialize(text: str | bytes) -> Any:
    """The plain value in ``text``; PHP arrays come back as dicts in their stored order."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    reader = _Reader(data)
    result = reader.value()
    if reader.pos != len(data):
        raise reader.fail("trailing data")
    return result


def serialize(value: Any) -> str:
    """PHP ``serialize()`` of plain data (used to build shop fixtures and benchmarks)."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode("utf-8"))}:"{value}";'
    if isinstance(value, list | tuple):
        value = dict(enumerate(value))
    if isinstance(value, dict):
        inner = "".join(serialize(k) + serialize(v) for k, v in value.items())
        return f"a:{len(value)}:{{{inner}}}"
    raise TypeError(f"cannot serialize {type(value).__name__} as PHP plain data")
