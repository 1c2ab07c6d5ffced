"""records.record_type: the __init__ compiled at a class's first record behaves as one compiled with the
class, for frozen, mutable and slotted records, and is the only __init__ from then on."""

from __future__ import annotations

from typing import List

import pytest
from ec_resume.records import FrozenInstanceError, field, record_type, replace


@record_type
class Frozen:
    name: str
    count: int = 0
    tags: List[str] = field(default_factory=list, compare=False)  # out of the hash, too
    note: str = field(default="", compare=False, repr=False)


@record_type(frozen=False, slots=True)
class Slotted:
    path: str
    depth: int = 1


class Child(Frozen):
    """A plain subclass: its first record is made through the record's __init__ too."""


def test_the_first_record_is_made_as_every_later_one() -> None:
    first, second = Frozen("a"), Frozen("a", 2, ["x"], note="n")
    assert (first.name, first.count, first.tags, first.note) == ("a", 0, [], "")
    assert (second.count, second.tags, second.note) == (2, ["x"], "n")
    assert Frozen("b").tags is not Frozen("b").tags  # a fresh default per record
    assert first == Frozen("a", note="other") and hash(first) == hash(Frozen("a"))
    assert repr(second) == "Frozen(name='a', count=2, tags=['x'])"
    assert replace(second, count=3) == Frozen("a", 3, ["x"])
    with pytest.raises(FrozenInstanceError):
        first.name = "b"  # type: ignore[misc]


def test_the_compiled_init_takes_the_place_of_the_first_one() -> None:
    @record_type
    class Late:
        value: int

    first_init = Late.__init__
    assert Late(1).value == 1
    compiled = Late.__init__
    assert compiled is not first_init and compiled.__qualname__.endswith("Late.__init__")
    assert Late(2).value == 2 and Late.__init__ is compiled


def test_wrong_arguments_at_the_first_record_are_refused_as_later() -> None:
    @record_type
    class Strict:
        value: int

    with pytest.raises(TypeError, match="value"):
        Strict()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="value"):
        Strict()  # type: ignore[call-arg]
    assert Strict(value=3).value == 3


def test_slotted_and_subclassed_records() -> None:
    row = Slotted("a/b")
    row.depth = 4
    assert (row.path, row.depth, Slotted("c", 2).depth) == ("a/b", 4, 2) and not hasattr(row, "__dict__")
    child = Child("c", 1)
    assert (type(child), child.name, child.count, child.tags) == (Child, "c", 1, [])
    assert Frozen("d").name == "d"
