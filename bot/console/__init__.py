"""The officers' console: accounts, sessions, the content queue, groups, calendar (web only).

Other pages join the console with `require(*roles)`, `render(request, template, **context)`
(templates extend "console/base.html.j2") and `request[CURRENT_USER]`, all from
`bot.console.auth`; `bot.console.routes.setup_console` mounts it.
"""
