# migo's pymongo-2 compatibility layer, prepended to migo's Python session (python.py).
#
# migopy 1.0 was built on pymongo 2: its users' migrations call `db.notes.insert(...)`,
# `update(spec, doc, upsert=True, multi=True)`, `remove(spec)`, `save(doc)`, `count()`,
# `find().count()`, `find_and_modify(...)`, `ensure_index(...)`, `collection_names()`. Modern
# pymongo has none of them. The `db` migo hands to `up(db)` / `down(db)` is a LegacyDatabase: a
# real pymongo Database (every modern method works as usual) whose collections also answer the
# legacy calls, each mapped to its modern form and returning what pymongo 2 returned. Legacy
# calls with no modern equivalent raise an error that names them. docs/from-migopy.md has the
# table.
import sys as _legacy_sys

from pymongo import ReturnDocument as _ReturnDocument
from pymongo.collection import Collection as _Collection
from pymongo.cursor import Cursor as _Cursor
from pymongo.cursor import CursorType as _CursorType
from pymongo.database import Database as _Database
from pymongo.write_concern import WriteConcern as _WriteConcern


class LegacyCallError(AttributeError):
    """A pymongo 2 call migo does not map to modern pymongo."""


def _not_mapped(call, instead):
    def refuse(*_args, **_kwargs):
        raise LegacyCallError(
            "%s is a pymongo 2 call that migo does not map to modern pymongo: %s" % (call, instead)
        )

    return refuse


def _warn(message):
    _legacy_sys.stderr.write("migo: " + message + "\n")


def _write_concern(collection, kwargs):
    """The collection with the write concern of pymongo 2's `w`, `wtimeout`, `j`, `fsync`
    arguments (`safe` is dropped: writes are always acknowledged)."""
    kwargs.pop("safe", None)
    concern = {}
    for old, new in (("w", "w"), ("wtimeout", "wtimeout"), ("j", "j"), ("fsync", "fsync")):
        if old in kwargs:
            concern[new] = kwargs.pop(old)
    if concern:
        return collection.with_options(write_concern=_WriteConcern(**concern))
    return collection


def _id_filter(spec_or_id):
    if spec_or_id is None:
        return {}
    if isinstance(spec_or_id, dict):
        return spec_or_id
    return {"_id": spec_or_id}


def _is_update(document):
    return bool(document) and next(iter(document)).startswith("$")


def _sort(sort):
    if isinstance(sort, dict):
        return list(sort.items())
    return sort


_FIND_POSITIONS = ("filter", "projection", "skip", "limit", "timeout", "snapshot", "tailable",
                   "sort", "max_scan", "as_class", "slave_okay", "await_data", "partial", "manual")
_FIND_DROPPED = ("snapshot", "max_scan", "as_class", "slave_okay", "manual", "read_preference",
                 "tag_sets", "secondary_acceptable_latency_ms", "compile_re", "network_timeout",
                 "_must_use_master", "_is_command", "_uuid_subtype")


def _find_arguments(args, kwargs):
    """pymongo 2's find(spec, fields, skip, limit, timeout, snapshot, tailable, sort, …) as
    modern find's keyword arguments."""
    named = dict(zip(_FIND_POSITIONS, args))
    named.update(kwargs)
    if "spec" in named:
        named["filter"] = named.pop("spec")
    if "fields" in named:
        named["projection"] = named.pop("fields")
    if "timeout" in named:
        named["no_cursor_timeout"] = not named.pop("timeout")
    tailable, await_data = named.pop("tailable", False), named.pop("await_data", False)
    if named.pop("exhaust", False):
        named["cursor_type"] = _CursorType.EXHAUST
    elif tailable:
        named["cursor_type"] = _CursorType.TAILABLE_AWAIT if await_data else _CursorType.TAILABLE
    if "partial" in named:
        named["allow_partial_results"] = named.pop("partial")
    for dropped in _FIND_DROPPED:
        named.pop(dropped, None)
    if "sort" in named:
        named["sort"] = _sort(named["sort"])
    return named


def _index_options(kwargs):
    """pymongo 2's index options as modern create_index's."""
    kwargs.pop("cache_for", None)
    kwargs.pop("ttl", None)
    for old in ("drop_dups", "dropDups"):
        if kwargs.pop(old, False):
            _warn("`%s` is no longer supported by MongoDB (since 3.0): duplicates are not "
                  "dropped, and a unique index fails if there are any" % old)
    if "bucket_size" in kwargs:
        kwargs["bucketSize"] = kwargs.pop("bucket_size")
    return kwargs


class AggregateResult(list):
    """What `aggregate` returns: the documents, iterable as a modern cursor's, and also
    pymongo 2's `{"result": [...], "ok": 1.0}` answer (`result["result"]`)."""

    def __getitem__(self, key):
        if key == "result":
            return list(self)
        if key == "ok":
            return 1.0
        return list.__getitem__(self, key)

    def get(self, key, default=None):
        return self[key] if key in ("result", "ok") else default

    def next(self):
        if not self:
            raise StopIteration
        return self.pop(0)

    __next__ = next


class LegacyCursor(_Cursor):
    """A modern cursor that also counts, as pymongo 2's did."""

    def count(self, with_limit_and_skip=False):
        spec = getattr(self, "_spec", None)
        if spec is None:
            spec = getattr(self, "_Cursor__spec", None) or {}
        options = {}
        if with_limit_and_skip:
            skip = getattr(self, "_skip", getattr(self, "_Cursor__skip", 0))
            limit = getattr(self, "_limit", getattr(self, "_Cursor__limit", 0))
            if skip:
                options["skip"] = skip
            if limit:
                options["limit"] = abs(limit)
        return self.collection.count_documents(spec, **options)


class LegacyCollection(_Collection):
    """A pymongo Collection that also answers pymongo 2's calls."""

    def __getitem__(self, name):
        return LegacyCollection(
            self.database, "%s.%s" % (self.name, name), False, self.codec_options,
            self.read_preference, self.write_concern, self.read_concern,
        )

    def with_options(self, *args, **kwargs):
        modern = _Collection.with_options(self, *args, **kwargs)
        return LegacyCollection(
            self.database, self.name, False, modern.codec_options, modern.read_preference,
            modern.write_concern, modern.read_concern,
        )

    def insert(self, doc_or_docs, manipulate=True, safe=None, check_keys=True,
               continue_on_error=False, **kwargs):
        target = _write_concern(self, kwargs)
        if isinstance(doc_or_docs, dict):
            return _Collection.insert_one(target, doc_or_docs, **kwargs).inserted_id
        docs = list(doc_or_docs)
        return _Collection.insert_many(
            target, docs, ordered=not continue_on_error, **kwargs
        ).inserted_ids

    def save(self, to_save, manipulate=True, safe=None, check_keys=True, **kwargs):
        target = _write_concern(self, kwargs)
        if "_id" not in to_save:
            return _Collection.insert_one(target, to_save, **kwargs).inserted_id
        _Collection.replace_one(target, {"_id": to_save["_id"]}, to_save, upsert=True, **kwargs)
        return to_save["_id"]

    def update(self, spec, document, upsert=False, manipulate=False, safe=None, multi=False,
               check_keys=True, **kwargs):
        target = _write_concern(self, kwargs)
        if _is_update(document):
            method = _Collection.update_many if multi else _Collection.update_one
            result = method(target, spec, document, upsert=upsert, **kwargs)
        elif multi:
            raise ValueError("update(..., multi=True) needs an update document with $ operators "
                             "(a replacement changes one document)")
        else:
            result = _Collection.replace_one(target, spec, document, upsert=upsert, **kwargs)
        answer = dict(result.raw_result)
        answer.setdefault("err", None)
        return answer

    def remove(self, spec_or_id=None, safe=None, multi=True, **kwargs):
        target = _write_concern(self, kwargs)
        method = _Collection.delete_many if multi else _Collection.delete_one
        answer = dict(method(target, _id_filter(spec_or_id), **kwargs).raw_result)
        answer.setdefault("err", None)
        return answer

    def find(self, *args, **kwargs):
        return LegacyCursor(self, **_find_arguments(args, kwargs))

    def find_one(self, spec_or_id=None, *args, **kwargs):
        named = _find_arguments(args, kwargs)
        named["filter"] = _id_filter(spec_or_id if spec_or_id is not None else named.get("filter"))
        named["limit"] = -1
        for document in LegacyCursor(self, **named):
            return document
        return None

    def count(self, filter=None, **kwargs):
        return _Collection.count_documents(self, filter or {}, **kwargs)

    def find_and_modify(self, query=None, update=None, upsert=False, sort=None,
                        full_response=False, manipulate=False, remove=False, new=False,
                        fields=None, **kwargs):
        query = query or {}
        options = {"projection": fields, "sort": _sort(sort)}
        options.update(kwargs)
        if remove:
            found = _Collection.find_one_and_delete(self, query, **options)
        elif update is None:
            raise ValueError("find_and_modify needs `update` or `remove=True`")
        else:
            after = _ReturnDocument.AFTER if new else _ReturnDocument.BEFORE
            method = (_Collection.find_one_and_update if _is_update(update)
                      else _Collection.find_one_and_replace)
            found = method(self, query, update, upsert=upsert, return_document=after, **options)
        if full_response:
            return {"value": found, "ok": 1.0}
        return found

    def ensure_index(self, key_or_list, cache_for=300, **kwargs):
        return _Collection.create_index(self, key_or_list, **_index_options(kwargs))

    def create_index(self, keys, *args, **kwargs):
        # pymongo 2's second positional argument was `cache_for`.
        return _Collection.create_index(self, keys, **_index_options(kwargs))

    def aggregate(self, pipeline, **kwargs):
        if "cursor" in kwargs:
            kwargs.pop("cursor")
            return _Collection.aggregate(self, pipeline, **kwargs)
        return AggregateResult(_Collection.aggregate(self, pipeline, **kwargs))

    group = _not_mapped("collection.group()", "the server dropped the `group` command in 4.2; use aggregate() with a $group stage")
    map_reduce = _not_mapped("collection.map_reduce()", "use aggregate()")
    inline_map_reduce = _not_mapped("collection.inline_map_reduce()", "use aggregate()")
    reindex = _not_mapped("collection.reindex()", "the server removed reIndex outside standalone servers; drop and create the index instead")


class LegacyDatabase(_Database):
    """A pymongo Database whose collections also answer pymongo 2's calls."""

    def __getitem__(self, name):
        return LegacyCollection(self, name)

    def get_collection(self, name, codec_options=None, read_preference=None,
                       write_concern=None, read_concern=None):
        return LegacyCollection(self, name, False, codec_options, read_preference,
                                write_concern, read_concern)

    @property
    def connection(self):
        return self.client

    def collection_names(self, include_system_collections=True):
        names = self.list_collection_names()
        if include_system_collections:
            return names
        return [n for n in names if not n.startswith("system.")]

    def drop_collection(self, name_or_collection, *args, **kwargs):
        if isinstance(name_or_collection, _Collection):
            name_or_collection = name_or_collection.name
        return _Database.drop_collection(self, name_or_collection, *args, **kwargs)

    authenticate = _not_mapped("db.authenticate()", "migo's connection is already authenticated: remove the call")
    logout = _not_mapped("db.logout()", "remove the call")
    add_user = _not_mapped("db.add_user()", "run the `createUser` command with db.command()")
    remove_user = _not_mapped("db.remove_user()", "run the `dropUser` command with db.command()")
    eval = _not_mapped("db.eval()", "the server no longer runs server-side JavaScript; do the work in Python")
    add_son_manipulator = _not_mapped("db.add_son_manipulator()", "transform the documents in the migration itself")
    error = _not_mapped("db.error()", "writes are acknowledged; errors raise exceptions")
    last_status = _not_mapped("db.last_status()", "writes are acknowledged; errors raise exceptions")
    previous_error = _not_mapped("db.previous_error()", "writes are acknowledged; errors raise exceptions")
    reset_error_history = _not_mapped("db.reset_error_history()", "remove the call")
