"""Conformance fixtures: content items other than text, and requests to the client mid-call
(sampling, elicitation)."""
from mxcp.runtime import content, mcp

# a 1x1 red PNG and a silent one-sample WAV
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQIAAAAAAA=="


def test_image_content():
    return content.image(PNG, "image/png")


def test_audio_content():
    return content.audio(WAV, "audio/wav")


def test_embedded_resource():
    return content.resource("test://embedded-resource", "This is an embedded resource content.", "text/plain")


def test_multiple_content_types():
    return [
        content.text("Multiple content types test:"),
        content.image(PNG, "image/png"),
        content.resource("test://mixed-content-resource", '{"test":"data","value":123}', "application/json"),
    ]


async def test_sampling(prompt: str) -> str:
    result = await mcp.sample(prompt, max_tokens=100)
    return f"LLM response: {result['content'].get('text')}"


async def test_elicitation(message: str) -> str:
    result = await mcp.elicit(message, {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    })
    return f"User response: action={result['action']}, content={result.get('content')}"


async def test_elicitation_sep1034_defaults() -> str:
    result = await mcp.elicit("Please review your information", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "default": "John Doe"},
            "age": {"type": "integer", "default": 30},
            "score": {"type": "number", "default": 95.5},
            "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "default": True},
        },
    })
    return f"Elicitation completed: action={result['action']}, content={result.get('content')}"


async def test_elicitation_sep1330_enums() -> str:
    result = await mcp.elicit("Choose options", {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ]},
            "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                           "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "items": {"anyOf": [
                {"const": "value1", "title": "First Choice"},
                {"const": "value2", "title": "Second Choice"},
                {"const": "value3", "title": "Third Choice"},
            ]}},
        },
    })
    return f"Elicitation completed: action={result['action']}, content={result.get('content')}"


def static_binary():
    """The resource test://static-binary: binary contents as a blob."""
    return content.resource("test://static-binary", blob=PNG, mime_type="image/png")
