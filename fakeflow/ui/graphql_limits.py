"""The bounds MLflow 3.17.2 puts on one GraphQL query before running it: nesting depth, total
selections, root fields and aliases per selection level (the last two set by environment
variables), checked in that order and reported with MLflow's messages."""

from __future__ import annotations

from typing import Any, Mapping

MAX_DEPTH = 10
MAX_SELECTIONS = 1000
ENV_MAX_ROOT_FIELDS = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS"
ENV_MAX_ALIASES = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES"
DEFAULT_MAX_ROOT_FIELDS = 10
DEFAULT_MAX_ALIASES = 10


class QueryTooLarge(Exception):
    """The query exceeds a bound; the message is the one MLflow reports."""


def _level(selections: Any, fragments: dict[str, Any], visited: frozenset[str]
           ) -> tuple[list[Any], int]:
    """The fields selected at one level, fragments flattened in, and how many carry an alias."""
    from graphql.language.ast import FieldNode, FragmentSpreadNode, InlineFragmentNode

    fields: list[Any] = []
    aliases = 0
    queue = list(selections.selections)
    seen = set(visited)
    while queue:
        node = queue.pop(0)
        if isinstance(node, FieldNode):
            fields.append(node)
            aliases += node.alias is not None
        elif isinstance(node, InlineFragmentNode):
            if node.selection_set:
                queue.extend(node.selection_set.selections)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None and fragment.selection_set:
                queue.extend(fragment.selection_set.selections)
    return fields, aliases


def _measure(document: Any) -> tuple[int, int]:
    """(root fields, most aliases at one level); raises at the first depth/selection excess."""
    from graphql.language.ast import FragmentDefinitionNode, OperationDefinitionNode

    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    roots = most_aliases = selections = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or not definition.selection_set:
            continue
        stack = [(definition.selection_set, 1, frozenset())]
        while stack:
            selection_set, depth, visited = stack.pop()
            if depth > MAX_DEPTH:
                raise QueryTooLarge(f"Query exceeds maximum depth of {MAX_DEPTH}")
            fields, aliases = _level(selection_set, fragments, visited)
            for field in fields:
                roots += depth == 1
                if field.selection_set:
                    stack.append((field.selection_set, depth + 1, visited))
                selections += 1
                if selections > MAX_SELECTIONS:
                    raise QueryTooLarge(f"Query exceeds maximum total selections of {MAX_SELECTIONS}")
            most_aliases = max(most_aliases, aliases)
    return roots, most_aliases


def _bound(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name, default))
    except ValueError:
        return default


def check_query_size(document: Any, environ: Mapping[str, str]) -> None:
    roots, aliases = _measure(document)
    for count, env, default, what in ((roots, ENV_MAX_ROOT_FIELDS, DEFAULT_MAX_ROOT_FIELDS, "root fields"),
                                      (aliases, ENV_MAX_ALIASES, DEFAULT_MAX_ALIASES, "aliases")):
        limit = _bound(environ, env, default)
        if count > limit:
            raise QueryTooLarge(f"GraphQL queries should have at most {limit} {what}, got {count} "
                                f"{what}. To increase the limit, set the {env} environment variable.")
