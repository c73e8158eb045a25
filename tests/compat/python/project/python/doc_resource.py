def helper():
    return "not called"


def main(key: str) -> dict:
    return {"key": key, "len": len(key)}
