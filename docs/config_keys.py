"""Every key of the study's config, from its schema (workflow/schemas/config.schema.yaml), as a
Markdown table: ``python docs/config_keys.py`` writes docs/generated/config_keys.md, which
docs/configuration.md quotes (tests/test_docs.py checks it is current)."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parent
SCHEMA = DOCS.parent / "workflow" / "schemas" / "config.schema.yaml"
OUT = DOCS / "generated" / "config_keys.md"


def kind(node: dict, defs: dict) -> str:
    node = defs.get(node.get("$ref", "").rsplit("/", 1)[-1], node) if "$ref" in node else node
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " \\| ".join(f"`{o['const']}`" if "const" in o else kind(o, defs) for o in node["oneOf"])
    types = node.get("type", "object" if "properties" in node else "any")
    types = types if isinstance(types, list) else [types]
    if "array" in types and "items" in node:
        return f"list of {kind(node['items'], defs)}"
    return " or ".join(str(t) for t in types)


def rows(node: dict, defs: dict, prefix: str) -> list[tuple[str, str, str, str]]:
    out = []
    for key, child in node.get("properties", {}).items():
        resolved = defs.get(child["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in child else child
        if "$ref" in child and "properties" in child:  # a reference with keys of its own beside it
            resolved = {**resolved, "properties": {**resolved.get("properties", {}), **child["properties"]}}
        default = child.get("default", resolved.get("default"))
        text = yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("...").strip()
        shown = "" if default is None or default == {} else f"`{text}`"
        description = child.get("description") or resolved.get("description", "")
        out.append((f"`{prefix}{key}`", kind(child, defs), shown, description))
        out += rows(resolved, defs, f"{prefix}{key}.")
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict) and ("$ref" in extra or "properties" in extra):
            target = defs.get(extra["$ref"].rsplit("/", 1)[-1], {}) if "$ref" in extra else extra
            name = {"datasets": "<dataset>", "architectures": "<architecture>"}.get(key, "<name>")
            out += rows(target, defs, f"{prefix}{key}.{name}.")
    return out


def table() -> str:
    schema = yaml.safe_load(SCHEMA.read_text())
    lines = ["| key | type | default | what |", "|---|---|---|---|"]
    lines += [f"| {k} | {t} | {d} | {w} |" for k, t, d, w in rows(schema, schema["$defs"], "")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(table())
    print(f"wrote {OUT}")
