"""Tampering with a signed token in a way that always changes what its signature says.

A base64 signature's last character carries padding bits, so swapping only that one can leave
the decoded signature as it was (and a test that tampers that way fails now and then). Changing
the third character from the end changes whole bytes of it."""


def tampered(token: str) -> str:
    at = len(token) - 3
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
