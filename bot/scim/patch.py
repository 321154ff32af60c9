"""PATCH (RFC 7644 §3.5.2) as identity providers send it. A user's operations are applied by
scim2-models to the user as we hold it, under the policy that accepts Entra ID's shapes
(capitalised ops, "True"/"False", a path-less replace with a value object, a manager as a
bare id). A group's member operations become set-based directory changes, so adding a
thousand members never loads the group's list."""

from __future__ import annotations

from typing import Any

from scim2_filter_parser import ast
from scim2_models import Context, Group, PatchOp
from scim2_models.messages.patch_op import PatchOperation

from bot.scim.models import POLICY, ScimUser
from handlers.scim import InvalidPath, InvalidValue, query


def patched_user(user: Any, body: dict[str, Any]) -> Any:
    with POLICY:
        operations = PatchOp[ScimUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        operations.patch(user)
    return user


class GroupPatch:
    """A group PATCH, sorted: a new displayName or externalId, members to add, to remove, or
    the whole list."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.name: str | None = None
        self.external_id: str | None = None
        self.add: list[int] = []
        self.remove: list[int] = []
        self.replace: list[int] | None = None
        with POLICY:
            request = PatchOp[Group].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        for operation in request.operations or []:
            self._operation(operation)

    def _operation(self, operation: PatchOperation) -> None:
        op = operation.op.value
        if operation.path is None:
            if not isinstance(operation.value, dict) or op == "remove":
                raise InvalidValue("A PATCH operation without a path needs an object as value.")
            for name, value in operation.value.items():
                # Okta repeats the group's id (and may send schemas) in a path-less replace.
                if name.lower() not in ("id", "schemas", "meta"):
                    self._attribute(op, name, value)
            return
        self._attribute(op, str(operation.path), operation.value)

    def _attribute(self, op: str, path: str, value: Any) -> None:
        key = path.lower()
        if key.startswith("urn:ietf:params:scim:schemas:core:2.0:group:"):
            key = key.rsplit(":", 1)[1]
        if key == "members":
            self._members(op, value)
        elif key.startswith("members["):
            if op != "remove":
                raise InvalidPath("Add or replace members with the path members and a list.")
            self.remove.extend(_filtered_members(path))
        elif key == "displayname" and op != "remove":
            self.name = str(value)
        elif key == "externalid" and op != "remove":
            self.external_id = str(value) if value else None
        else:
            raise InvalidPath(f"{op} {path} is not supported on a group.")

    def _members(self, op: str, value: Any) -> None:
        ids = _member_ids(value)
        if op == "add":
            self.add.extend(ids)
            self.remove = [u for u in self.remove if u not in set(ids)]
        elif op == "replace":
            self.replace, self.add, self.remove = ids, [], []
        elif value is None:  # remove them all
            self.replace, self.add, self.remove = [], [], []
        else:
            self.remove.extend(ids)


def _member_ids(value: Any) -> list[int]:
    entries = value if isinstance(value, list) else [value] if value is not None else []
    ids = []
    for entry in entries:
        raw = entry.get("value") if isinstance(entry, dict) else getattr(entry, "value", entry)
        text = str(raw or "")
        if not text.isdecimal() or len(text) > 18:
            raise InvalidValue(f"A member's value must be a user's id here, not {text!r}.")
        ids.append(int(text))
    return ids


def _filtered_members(path: str) -> list[int]:
    """The ids a path such as members[value eq "42"] names (eq on value, joined by or)."""
    inner = path[path.index("[") + 1 : path.rindex("]")]
    ids: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, ast.Filter) and not node.negated and node.namespace is None:
            walk(node.expr)
        elif isinstance(node, ast.LogExpr) and node.op.lower() == "or":
            walk(node.expr1)
            walk(node.expr2)
        elif (
            isinstance(node, ast.AttrExpr)
            and node.value.lower() == "eq"
            and node.attr_path.attr_name.lower() == "value"
            and node.attr_path.sub_attr is None
        ):
            ids.append(node.comp_value.value)
        else:
            raise InvalidPath(f'Remove members by their value: members[value eq "id"], not {path}.')

    walk(query.parse(inner))
    return _member_ids(ids)
