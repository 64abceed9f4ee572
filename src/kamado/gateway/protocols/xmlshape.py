"""XML bodies <-> Python values, walked along a botocore shape (rest-xml, and query responses).

Element names follow botocore's rules: a member's ``locationName`` or its name; a flattened list
repeats its items in place of a wrapper (named by the list member's ``locationName`` when it has
one); maps are ``<entry><key/><value/></entry>``; ``xmlAttribute`` members live on the parent
element; ``xmlNamespace`` adds an ``xmlns`` (or ``xmlns:prefix``) attribute.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape as _escape, quoteattr

from kamado.gateway.protocols.scalars import (
    BadScalar, b64encode, float_to_wire, format_timestamp, from_text,
)
from kamado.gateway.validate import member_label

_TEXT_ENTITIES = {"\r": "&#13;"}  # a raw CR would come back as LF after XML end-of-line handling
_SPECIAL = re.compile(r"[&<>\r]")


def escape(text: str) -> str:
    if _SPECIAL.search(text) is None:  # most names and ids need no escaping at all
        return text
    return _escape(text, _TEXT_ENTITIES)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


# --- parse (request bodies) ----------------------------------------------------------------

def parse_document(body: bytes) -> ET.Element:
    """Raise ValueError on anything that is not one well-formed XML document without a DTD."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ValueError("document type declarations are not accepted")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None


def decode(shape, node):
    """``node`` is an Element, or for a flattened list/map the list of its repeated Elements."""
    t = shape.type_name
    if t == "structure":
        return _decode_structure(shape, node)
    if t == "list":
        member = shape.member
        items = node if isinstance(node, list) else list(node)
        out = []
        for i, item in enumerate(items, 1):
            try:
                out.append(decode(member, item))
            except BadScalar as exc:
                exc.path.append(f"{i}.member")
                raise
        return out
    if t == "map":
        entries = node if isinstance(node, list) else list(node)
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out_map = {}
        for entry in entries:
            key = value = None
            for part in entry:
                tag = local(part.tag)
                if tag == kname:
                    key = part.text or ""
                elif tag == vname:
                    value = part
            if key is not None and value is not None:
                try:
                    out_map[key] = decode(shape.value, value)
                except BadScalar as exc:
                    exc.path.append(key)
                    raise
        return out_map
    if isinstance(node, list):  # a scalar element given twice: the last one wins
        node = node[-1]
    return from_text(shape, node.text or "")


def _decode_structure(shape, node):
    if isinstance(node, list):
        node = node[-1]
    children: dict[str, list] = {}
    for child in node:
        children.setdefault(local(child.tag), []).append(child)
    out = {}
    for name, member in shape.members.items():
        ser = member.serialization
        if ser.get("location"):
            continue
        if ser.get("xmlAttribute"):
            found = _attribute(node, ser.get("name", name))
            if found is not None:
                out[name] = found
            continue
        elements = None
        for wire in _element_names(name, member):
            elements = children.get(wire)
            if elements:
                break
        if not elements:
            continue
        flattened = member.type_name in ("list", "map") and ser.get("flattened")
        try:
            out[name] = decode(member, elements if flattened else elements[-1])
        except BadScalar as exc:
            exc.path.append(member_label(name))
            raise
    return out


def _attribute(node, wire: str):
    want = wire.rsplit(":", 1)[-1]
    for key, value in node.attrib.items():
        if key == wire or local(key) == want:
            return value
    return None


def _element_names(name: str, member) -> tuple[str, ...]:
    own = member.serialization.get("name", name)
    if member.type_name == "list" and member.serialization.get("flattened"):
        # botocore's serializer names flattened items after the member, its parser after the
        # list's member shape; accept both.
        item = member.member.serialization.get("name")
        if item and item != own:
            return (own, item)
    return (own,)


# --- write (response bodies) ---------------------------------------------------------------

def element_name(name: str, member) -> str:
    """The element a response member is written as (botocore's parser: ``_member_key_name``)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        item = member.member.serialization.get("name")
        if item:
            return item
    return member.serialization.get("name", name)


def namespace_attr(shape) -> str:
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f" xmlns={quoteattr(ns)}"
    attr = f"xmlns:{ns['prefix']}" if ns.get("prefix") else "xmlns"
    return f" {attr}={quoteattr(ns['uri'])}"


def write(parts: list, shape, value, name: str, extra_attrs: str = "") -> None:
    """Append ``<name>…</name>`` for ``value`` to ``parts`` (timestamps default to ISO 8601)."""
    t = shape.type_name
    if t == "structure":
        write_structure(parts, shape, value, name, extra_attrs)
    elif t == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                write(parts, member, item, name)
            return
        item_name = member.serialization.get("name", "member")
        parts.append(f"<{name}{namespace_attr(shape)}>")
        for item in value:
            write(parts, member, item, item_name)
        parts.append(f"</{name}>")
    elif t == "map":
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not flattened:
            parts.append(f"<{name}{namespace_attr(shape)}>")
        for k, v in value.items():
            if v is None:
                continue
            parts.append(f"<{name}>" if flattened else "<entry>")
            write(parts, shape.key, k, kname)
            write(parts, shape.value, v, vname)
            parts.append(f"</{name}>" if flattened else "</entry>")
        if not flattened:
            parts.append(f"</{name}>")
    else:
        text = value if t == "string" and isinstance(value, str) else scalar_text(shape, value)
        parts.append(f"<{name}{namespace_attr(shape)}>{escape(text)}</{name}>")


def write_structure(parts: list, shape, value, name: str, extra_attrs: str = "") -> None:
    elements, attributes, own_ns = _structure_plan(shape)
    attrs = own_ns + extra_attrs
    for key, wire, member in attributes:
        item = value.get(key)
        if item is not None:
            attrs += f" {wire}={quoteattr(scalar_text(member, item))}"
    parts.append(f"<{name}{attrs}>")
    for key, item in value.items():
        found = elements.get(key)
        if found is not None and item is not None:
            write(parts, found[1], item, found[0])
    parts.append(f"</{name}>")


def _structure_plan(shape):
    """(element members by name, attribute members, xmlns attribute), computed once per shape."""
    plan = _PLANS.get(shape)
    if plan is None:
        elements, attributes = {}, []
        for key, member in shape.members.items():
            ser = member.serialization
            if ser.get("location"):
                continue
            if ser.get("xmlAttribute"):
                attributes.append((key, ser.get("name", key), member))
            else:
                elements[key] = (element_name(key, member), member)
        plan = _PLANS[shape] = (elements, tuple(attributes), namespace_attr(shape))
    return plan


_PLANS: dict = {}


def scalar_text(shape, value) -> str:
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601")))
    if t == "blob":
        return b64encode(value)
    if t in ("float", "double"):
        return str(float_to_wire(value))
    return str(value)
