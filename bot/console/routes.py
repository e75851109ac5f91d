"""The console's routes and background loop, added to the web app by bot.web."""

from __future__ import annotations

from aiohttp import web

from bot.articles import images
from bot.console import (
    auth,
    sending,
    views_calendar,
    views_groups,
    views_images,
    views_lessons,
    views_outbox,
    views_queue,
    views_share,
    views_users,
)


def setup_console(app: web.Application) -> None:
    """Register the console's routes and its due-item loop."""
    route = app.router
    route.add_get("/console/login", auth.login_page)
    route.add_post("/console/login", auth.login)
    route.add_post("/console/logout", auth.logout)
    route.add_get("/console", views_queue.home)
    route.add_get("/console/items/new", views_queue.new_item)
    route.add_get("/console/items/sources", views_queue.sources)
    route.add_post("/console/items", views_queue.create_item)
    route.add_get("/console/items/{id:[0-9]{1,12}}", views_queue.show_item)
    route.add_post("/console/items/{id:[0-9]{1,12}}", views_queue.save_item)
    route.add_get("/console/items/{id:[0-9]{1,12}}/edit", views_queue.edit_form)
    route.add_post("/console/items/{id:[0-9]{1,12}}/images", views_images.attach)
    route.add_post("/console/items/{id:[0-9]{1,12}}/images/remove", views_images.detach)
    route.add_get(f"/img/{{image:{images.ID_PATTERN}}}.jpg", views_images.serve)
    route.add_post("/console/items/{id:[0-9]{1,12}}/{action:[a-z]{1,20}}", views_queue.act)
    route.add_get("/console/calendar", views_calendar.calendar)
    route.add_get("/console/groups", views_groups.list_groups)
    route.add_get("/console/groups/view", views_groups.show_group)
    route.add_post("/console/groups/save", views_groups.save_group)
    route.add_get("/console/groups/export", views_groups.export)
    route.add_post("/console/groups/import", views_groups.import_groups)
    route.add_get("/console/share", views_share.share_home)
    route.add_get("/console/share/group", views_share.share_group)
    route.add_post("/console/share/quiz", views_share.open_quiz)
    route.add_get("/console/share/winners", views_share.winners)
    route.add_get("/console/share/qr.png", views_share.qr_png)
    route.add_get("/console/outbox", views_outbox.outbox_page)
    route.add_post("/console/outbox/requeue", views_outbox.requeue)
    route.add_get("/console/users", views_users.users_page)
    route.add_post("/console/users", views_users.add_user)
    route.add_post("/console/users/toggle", views_users.toggle_user)
    route.add_get("/console/lessons", views_lessons.lessons_page)
    route.add_post("/console/lessons", views_lessons.propose)
    route.add_get("/console/lessons/draft", views_lessons.draft_page)
    route.add_post("/console/lessons/entries", views_lessons.propose_entry)
    route.add_post("/console/lessons/decide", views_lessons.decide)
    route.add_get("/console/lessons/export", views_lessons.export_yaml)
    app.cleanup_ctx.append(sending.due_ctx)
