"""Identity and access (统一身份认证): organisations, users, sessions, tokens, grants."""
