from mxcp.runtime import config


def show_secret() -> dict:
    return {"api": config.get_secret("api"), "missing": config.get_secret("nope")}
