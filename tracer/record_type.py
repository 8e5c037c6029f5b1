"""`Record`: classes of named values, as `dataclasses` makes them, for the modules a step loads.

`import dataclasses` imports `inspect`, about 40 M instructions (a third of what a step costs
beyond the interpreter's start), for what a step needs of it: an `__init__` taking the fields
by position or name, equality, a repr, and the values as a dict. A subclass names its fields
with annotations and their defaults as class attributes; a mutable default (a dict or list) is
copied for each record. Type checkers see the fields as a dataclass's (PEP 681).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs 12 M instructions; type checkers know this name
if TYPE_CHECKING:
    from typing import Any, dataclass_transform
else:

    def dataclass_transform(**_options):
        return lambda cls: cls


@dataclass_transform()
class Record:
    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        names = [
            name
            for klass in reversed(cls.__mro__)
            for name in vars(klass).get("__annotations__", {})
            if not name.startswith("_")
        ]
        cls._fields = tuple(dict.fromkeys(names))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes {len(self._fields)} values")
        values = dict(zip(self._fields, args, strict=False))
        for name, value in kwargs.items():
            if name not in self._fields or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {name!r}")
            values[name] = value
        for name in self._fields:
            if name not in values:
                if not hasattr(type(self), name):
                    raise TypeError(f"{type(self).__name__}: missing {name!r}")
                default = getattr(type(self), name)
                values[name] = default.copy() if isinstance(default, dict | list) else default
            object.__setattr__(self, name, values[name])

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={value!r}" for name, value in self.as_dict().items())
        return f"{type(self).__name__}({inside})"
