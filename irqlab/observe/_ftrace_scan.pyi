from collections.abc import Mapping

from typing_extensions import Buffer

def scan(chunk: Buffer, decoded: Mapping[bytes, tuple[int, int, int, str] | None], /) -> (
    tuple[tuple[list[int], list[int], list[int], list[int], list[int], list[str]],
          int, bytes, int, int, int] | None): ...
