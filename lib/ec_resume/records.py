"""Plain records, as `dataclasses` makes them, without its import and with a quicker constructor.

`record_type` turns a class with annotated fields into a record: an ``__init__`` taking the fields in order
(class values are the defaults, `field(default_factory=...)` a fresh one per record; `field` also takes
`repr` and `compare` as dataclasses does), ``__repr__``,
``__eq__`` and, when frozen (the default), ``__hash__`` and no assignment after construction. `replace`
is `dataclasses.replace`. Why not dataclasses: a plugin step is a short process, and `import dataclasses`
loads `inspect` (and through it `ast`, `dis`, `tokenize`), several milliseconds of every step; and a
frozen dataclass sets each field through ``object.__setattr__``, three times slower than this, which a
plan of 100,000 steps pays several times per step. The field values live in the instance's ``__dict__``.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

    T = TypeVar("T")

_MISSING = object()


class _Field:
    __slots__ = ("default", "default_factory", "repr", "compare")

    def __init__(self, default: Any, default_factory: Optional[Callable[[], Any]], repr: bool,
                 compare: bool) -> None:
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare


def field(*, default: Any = _MISSING, default_factory: Optional[Callable[[], Any]] = None,
          repr: bool = True, compare: bool = True) -> Any:
    """A field's default (a value, or a factory called for each record), whether repr shows it and
    whether equality and the hash take it into account."""
    return _Field(default, default_factory, repr, compare)


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _values(self: Any) -> Tuple[Any, ...]:
    return type(self).__record_values__(self)  # type: ignore[no-any-return]


def _getter(names: Tuple[str, ...]) -> Callable[[Any], Tuple[Any, ...]]:
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names) if names else (lambda obj: ())


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in type(self).__record_repr__)
    return f"{type(self).__qualname__}({shown})"


def _make_init(cls: type, names: Tuple[str, ...], specs: Dict[str, Any], slots: bool) -> None:
    """An __init__ that compiles the real one at the first record and puts it in its place. The compile is
    most of what a record class costs to make (0.03-0.1 ms), and a CreateRestartLink step loads 19 record
    classes but makes records of only 14 to 17 of them. From the second record on, the real one runs alone."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init = _compiled_init(cls, names, specs, slots)
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = __init__  # type: ignore[misc]


def _compiled_init(cls: type, names: Tuple[str, ...], specs: Dict[str, Any], slots: bool) -> Any:
    parameters, body, scope = [], [], {"_MISSING": _MISSING}
    for number, name in enumerate(names):
        spec = specs[name]
        if slots:  # the slot's own setter: a frozen record's __setattr__ refuses
            scope[f"_set_{number}"] = getattr(cls, name).__set__
            store = f" _set_{number}(self, {{}})"
        else:  # straight into the instance's dict, past the frozen __setattr__
            store = f" _d[{name!r}] = {{}}"
        if isinstance(spec, _Field) and spec.default_factory is not None:
            scope[f"_factory_{name}"] = spec.default_factory
            parameters.append(f"{name}=_MISSING")
            body.append(store.format(f"_factory_{name}() if {name} is _MISSING else {name}"))
            continue
        default = spec.default if isinstance(spec, _Field) else spec
        if default is _MISSING:
            parameters.append(name)
        else:
            scope[f"_default_{name}"] = default
            parameters.append(f"{name}=_default_{name}")
        body.append(store.format(name))
    head = "" if slots else " _d = self.__dict__\n"
    source = (f"def __init__(self, {', '.join(parameters)}):\n{head}" + "\n".join(body)
              if names else "def __init__(self):\n pass")
    exec(source, scope)  # noqa: S102 - the text is made here of field names only
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def record_type(cls: Optional[type] = None, *, frozen: bool = True, slots: bool = False) -> Any:
    """@record_type or @record_type(frozen=False) on a class whose annotations name its fields.

    `slots`: the fields in __slots__ instead of an instance dict, for records made by the hundred
    thousand (half the memory); the defaults then live in __init__ only.
    """

    def make(klass: type) -> type:
        names = tuple(klass.__dict__.get("__annotations__", {}))
        specs: Dict[str, Any] = {}
        for name in names:
            specs[name] = klass.__dict__.get(name, _MISSING)
            if isinstance(specs[name], _Field):
                if specs[name].default is _MISSING or slots:
                    delattr(klass, name)
                else:
                    setattr(klass, name, specs[name].default)
            elif slots and specs[name] is not _MISSING:
                delattr(klass, name)
        if slots:
            space = {k: v for k, v in klass.__dict__.items() if k not in ("__dict__", "__weakref__")}
            space["__slots__"] = names
            klass = type(klass)(klass.__name__, klass.__bases__, space)
        klass.__record_fields__ = names  # type: ignore[attr-defined]
        klass.__record_repr__ = tuple(  # type: ignore[attr-defined]
            n for n in names if not (isinstance(specs[n], _Field) and not specs[n].repr))
        klass.__record_values__ = _getter(tuple(  # type: ignore[attr-defined]
            n for n in names if not (isinstance(specs[n], _Field) and not specs[n].compare)))
        _make_init(klass, names, specs, slots)
        klass.__repr__ = _repr  # type: ignore[assignment]
        klass.__eq__ = _eq  # type: ignore[assignment]
        if frozen:
            klass.__hash__ = _hash  # type: ignore[assignment]
            klass.__setattr__ = _frozen_setattr  # type: ignore[assignment]
            klass.__delattr__ = _frozen_delattr  # type: ignore[assignment]
        else:
            klass.__hash__ = None  # type: ignore[assignment]
        return klass

    return make if cls is None else make(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of the record `obj` with some fields changed (dataclasses.replace)."""
    names = type(obj).__record_fields__  # type: ignore[attr-defined]
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field {sorted(unknown)[0]!r}")
    values = {name: changes[name] if name in changes else getattr(obj, name) for name in names}
    return type(obj)(**values)
