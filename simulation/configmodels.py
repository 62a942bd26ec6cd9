"""Declarative schemas of the input files (pydantic v2), and the one converter of their
errors into the one-line :class:`~simulation.errors.ConfigError`.

Each file format (scenario, comparison, sweep, sensitivity, calibration) is a tree of
:class:`Table` models, declared by the module that owns it: unknown keys are errors and
values are never coerced (``1.5`` is no integer, ``true`` no number). What a key expects is
written once, beside it, with :func:`field`; :func:`validate` turns pydantic's
:class:`~pydantic.ValidationError` into ``FILE: KEY.PATH: expected WHAT[, got VALUE]``:

* an unknown key: its table's :meth:`Table.unknown_key` (reported before any other error:
  a misspelt key is the likeliest cause of the others);
* a missing key: the field's ``missing`` text, else its description;
* a value of the wrong type: the field's ``type_error`` text, else its description;
* any other invalid value: the field's description (or :meth:`Table.field_expected`);
* a rule across keys: the text and key that its validator gives :func:`invalid`;
* a value that is not a table: the field's description, else the table's
  ``table_expected``; an element of an array of tables, at the element if its table has its
  own ``table_expected``, else at the array.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError, PydanticUndefined

from .errors import ConfigError

#: ``got`` of :func:`invalid`: the message shows the file's own value at the key.
RAW = "<the value in the file>"

T = TypeVar("T", bound="Table")


class Table(BaseModel):
    """A TOML table: unknown keys are errors and values keep their TOML types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    #: What a value that is not a table is told, and whether the message shows the value.
    table_expected: ClassVar[str] = "a table"
    table_got: ClassVar[bool] = False
    #: The message of an unknown key; ``{keys}``: the keys (sorted with ``sort_keys``).
    unknown: ClassVar[str] = "one of the keys {keys}"
    sort_keys: ClassVar[bool] = False
    #: Sub-tables that a file may leave out, read as empty (their required keys reported).
    implicit: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _implicit_tables(cls, data: Any) -> Any:
        if cls.implicit and isinstance(data, dict):
            return {**dict.fromkeys(cls.implicit, {}), **data}
        return data

    @classmethod
    def unknown_key(cls, raw: Any) -> str:
        """What an unknown key of this table (``raw``, as in the file) is told."""
        keys = list(cls.model_fields)
        return cls.unknown.format(keys=", ".join(sorted(keys) if cls.sort_keys else keys))

    @classmethod
    def field_expected(cls, name: str, raw: Any) -> str | None:
        """What key ``name`` expects when that depends on the table's other keys (``raw``,
        as in the file); None: the field's description."""
        return None


def field(expected: str, default: Any = PydanticUndefined, *, type_error: str | None = None,
          missing: str | None = None, got: bool = True, **constraints: Any) -> Any:
    """A key that expects ``expected``; ``type_error``, ``missing``: the texts of a value of
    the wrong type and of a missing key, if other; ``got``: whether messages show the
    value; ``constraints``: pydantic's (``ge``, ``le``, ``min_length``...)."""
    extra = {"type_error": type_error, "missing": missing, "got": got}
    return Field(default, description=expected, **constraints,
                 json_schema_extra={k: v for k, v in extra.items() if v is not None})


def invalid(expected: str, *key: str | int, got: Any = None) -> PydanticCustomError:
    """The error for a validator to raise: at ``key`` (path parts below the model or field
    validated), expecting ``expected``; ``got``: the value to show (None: none; :data:`RAW`:
    the file's own)."""
    return PydanticCustomError("config", "{expected}", {"expected": expected, "key": key,
                                                        "got": got})


def check(test: Callable[[Any], Any], expected: str | None = None) -> AfterValidator:
    """A validator failing where ``test(value)`` is false, expecting ``expected`` (default:
    the field's description)."""

    def run(value: Any) -> Any:
        if not test(value):
            raise ValueError("invalid") if expected is None else invalid(expected, got=RAW)
        return value

    return AfterValidator(run)


def one_of(choices: Iterable[Any]) -> AfterValidator:
    """A validator accepting only ``choices``."""
    allowed = tuple(choices)
    return check(lambda v: v in allowed)


#: Common keys: a string, a non-blank string, a finite number (an integer is accepted).
Text = Annotated[str, field("a string")]
NonBlank = Annotated[str, check(str.strip), field("a non-empty string")]
Number = Annotated[float, Field(allow_inf_nan=False)]


def validate(model: type[T], raw: Any, source: str, prefix: str = "",
             context: dict[str, Any] | None = None) -> T:
    """``raw`` (as read from TOML) validated by ``model``; any problem is one
    :class:`ConfigError` naming ``source`` and the key's path below ``prefix``."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as e:
        raise config_error(e, model, raw, source, prefix) from None


def config_error(exc: ValidationError, model: type[Table], raw: Any, source: str,
                 prefix: str = "") -> ConfigError:
    """The :class:`ConfigError` of the first problem of ``exc`` (``model`` validating
    ``raw``), unknown keys first; its message is chosen as the module says."""
    errors = exc.errors(include_url=False)
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, kind, ctx = tuple(err["loc"]), err["type"], err.get("ctx") or {}
    show = False
    if kind == "extra_forbidden":
        path, table = list(loc), _walk(model, loc[:-1])[3]
        expected = table.unknown_key(_at(raw, loc[:-1])) if table else "no such key"
    elif kind == "config":
        path, expected = [*loc, *ctx["key"]], ctx["expected"]
        show = ctx["got"] is not None
    else:
        path, owner, name, table, at_item = _walk(model, loc)
        text, extra = _describe(owner.model_fields[name] if owner and name else None)
        if at_item and "table_expected" not in vars(table):
            path, table = path[:-1], None  # an element of an array: reported at the array
        if table is not None and (at_item or text is None):
            expected, show = table.table_expected, table.table_got  # not a table
        else:
            own = owner.field_expected(name, _at(raw, path[:-1])) if owner and name else None
            expected = own or text or err["msg"][:1].lower() + err["msg"][1:]
            if kind == "missing":
                expected = extra.get("missing", expected)
            elif kind.endswith("_type") or kind == "int_from_float":
                expected = extra.get("type_error", expected)
            show = kind != "missing" and extra.get("got", True)
    got = ctx["got"] if kind == "config" and ctx["got"] != RAW else _at(raw, path)
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    key = (prefix + key if prefix else key[1:] if key.startswith(".") else key) or "file"
    return ConfigError(source, key, expected, got if show else None)


def _walk(model: type[Table], loc: tuple[Any, ...]
          ) -> tuple[list[Any], type[Table] | None, str | None, type[Table] | None, bool]:
    """Follow ``loc`` down the models: (the path of its deepest key or element, the model
    owning that key, the key, the model of the table at the end of the path if it ends at
    one, whether it ends at an element of an array or table of tables)."""
    path: list[Any] = []
    owner = name = None
    node: type[Table] | None = model
    at_item, i = False, 0
    while i < len(loc) and node is not None and loc[i] in node.model_fields:
        owner, name = node, loc[i]
        path.append(name)
        node, container = _inner(owner.model_fields[name].annotation)
        i += 1
        if container and i < len(loc):  # an element, whose own keys may follow
            path.append(loc[i])
            i += 1
            at_item = i == len(loc)
        elif container:
            node = None  # the array or table of tables itself
    return path, owner, name, node if i == len(loc) else None, at_item


def _inner(annotation: Any) -> tuple[type[Table] | None, bool]:
    """The model inside ``annotation`` (perhaps optional), and whether it is that of the
    elements of an array or the values of a table."""
    for arg in _members(annotation):
        if isinstance(arg, type) and issubclass(arg, Table):
            return arg, False
        if typing.get_origin(arg) in (list, dict):
            inner = _members(typing.get_args(arg)[-1])[0]
            if isinstance(inner, type) and issubclass(inner, Table):
                return inner, True
    return None, False


def _members(annotation: Any) -> list[Any]:
    """The types of a union (or the type), without their ``Annotated`` metadata."""
    if typing.get_origin(annotation) is Annotated:
        return _members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _members(arg)]
    return [annotation]


def _describe(info: FieldInfo | None) -> tuple[str | None, dict[str, Any]]:
    """A field's description and extra texts, also where pydantic leaves them: inside the
    ``Annotated`` member of an optional field."""
    if info is not None and info.description is not None:
        extra = info.json_schema_extra
        return info.description, dict(extra) if isinstance(extra, dict) else {}
    for arg in typing.get_args(info.annotation) if info is not None else ():
        metas = typing.get_args(arg)[1:] if typing.get_origin(arg) is Annotated else ()
        for meta in metas:
            if isinstance(meta, FieldInfo) and meta.description is not None:
                return _describe(meta)
    return None, {}


def _at(raw: Any, path: Iterable[Any]) -> Any:
    """The value at ``path`` in ``raw`` (None where there is none)."""
    for part in path:
        if isinstance(raw, dict) and part in raw:
            raw = raw[part]
        elif isinstance(raw, list) and isinstance(part, int) and 0 <= part < len(raw):
            raw = raw[part]
        else:
            return None
    return raw


__all__ = ["RAW", "NonBlank", "Number", "Table", "Text", "check", "config_error", "field",
           "invalid", "one_of", "validate"]
