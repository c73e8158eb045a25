def py_hello(name: str) -> str:
    return f"Hello, {name}!"
