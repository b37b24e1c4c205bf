"""Reporting every step to the public service platform (公共服务平台数据接口).

Each reportable event becomes one report with two faces: the national data-spec record
(``dataspec``) and an OCDS 1.1.5 release (``ocds``). The relay pushes them; the pull feed
serves the releases; the reference receiver checks what it gets.
"""
