def strings() -> list:
    return ["a", "b", "c"]
