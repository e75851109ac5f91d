// 反诈助手 simulator page: group switching, per-group history, sending, and safe markdown.
"use strict";

(() => {
  const appNode = document.getElementById("app");
  const API_BASE = appNode.dataset.api || "/api/sim"; // the console's 试一试 page has its own
  const API_URL = `${API_BASE}/messages`;
  const IMAGE_URL = `${API_BASE}/images`;
  const FEED_URL = `${API_BASE}/feed`;
  const CSRF_HEADERS = appNode.dataset.csrf ? { "X-CSRF-Token": appNode.dataset.csrf } : {};
  const FEED_KEY = "fanzha-sim:feed:"; // the last push id shown, per group
  const FEED_POLL_MS = 3000;
  const PRIVATE_GROUP = "private";
  const USER_KEY = "fanzha-sim:user";
  const GROUP_KEY = "fanzha-sim:group";
  const HISTORY_KEY = "fanzha-sim:history:";
  const QUIET_HINT_KEY = "fanzha-sim:quiet-hint";
  const DEFAULT_USER = "张三";
  const BOT_NAME = "反诈助手";
  const MAX_HISTORY = 200;
  const REQUEST_TIMEOUT_MS = 30000;
  const SHIELD_SVG =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2 4 5v6c0 5 3.4 9.4 8 11 ' +
    '4.6-1.6 8-6 8-11V5l-8-3Z"/><path class="tick" d="m8.5 12 2.5 2.5 4.5-5"/></svg>';
  const AVATAR_COLOURS = ["#f97316", "#0ea5e9", "#8b5cf6", "#10b981", "#ef4444", "#eab308", "#14b8a6", "#ec4899"];

  const $ = (id) => document.getElementById(id);
  const app = $("app");
  const log = $("messages");
  const form = $("composer");
  const textarea = $("composer-text");
  const sendButton = $("send-button");
  const nameInput = $("user-name");
  const sidebar = $("sidebar");
  const menuButton = $("menu-button");
  const backdrop = $("backdrop");
  const mention = app.dataset.mention || "@" + BOT_NAME;
  const groupButtons = new Map(
    [...document.querySelectorAll(".group-item")].map((button) => [button.dataset.group, button]),
  );
  const narrow = window.matchMedia("(max-width: 767px)");

  let current = null;
  let pendingGroup = null;
  let sequence = 0;
  const newId = () => `${Date.now().toString(36)}-${(sequence++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

  // Storage that never throws: private modes and full quotas just lose history.
  const store = {
    get(storage, key, fallback) {
      try {
        const raw = storage.getItem(key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch {
        return fallback;
      }
    },
    set(storage, key, value) {
      try {
        storage.setItem(key, JSON.stringify(value));
      } catch {
        /* keep going without persistence */
      }
    },
  };
  const historyOf = (group) => store.get(sessionStorage, HISTORY_KEY + group, []);
  const saveHistory = (group, entries) =>
    store.set(sessionStorage, HISTORY_KEY + group, entries.slice(-MAX_HISTORY));
  const currentUser = () => nameInput.value.trim();

  // Markdown subset --------------------------------------------------------

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
  const COLOURS = new Set(["info", "comment", "warning"]);
  const FONT_OPEN = /&lt;font\s+color=(?:&quot;|&#39;)?([a-z]+)(?:&quot;|&#39;)?&gt;/i;
  const FONT_PAIR = new RegExp(FONT_OPEN.source + "(.*?)&lt;\\/font&gt;", "gi");

  // Absolute http(s) links, or paths on this site; never another scheme or a "//host" link.
  const isSafeUrl = (url) =>
    !/[\u0000-\u0020\\]/.test(url) &&
    (/^https?:\/\/[^/]/i.test(url) || (!/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith("//")));

  const fontSpan = (colour, inner) => {
    const name = colour.toLowerCase();
    return COLOURS.has(name) ? `<span class="md-${name}">${inner}</span>` : `<span>${inner}</span>`;
  };

  // Bold and WeCom colour tags on an already escaped line.
  function emphasis(html) {
    return html
      .replace(/\*\*(?=\S)(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(FONT_PAIR, (_, colour, inner) => fontSpan(colour, inner))
      .replace(new RegExp(FONT_OPEN.source + "(.*)$", "i"), (_, colour, rest) => fontSpan(colour, rest))
      .replace(/&lt;\/font&gt;/gi, "");
  }

  function inline(html) {
    const links = [];
    const withTokens = html.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (whole, label, url) => {
      if (!isSafeUrl(url)) return whole;
      links.push(`<a href="${url}" target="_blank" rel="noopener noreferrer">${emphasis(label)}</a>`);
      return `\u0000${links.length - 1}\u0000`;
    });
    return emphasis(withTokens).replace(/\u0000(\d+)\u0000/g, (_, i) => links[Number(i)]);
  }

  function renderMarkdown(source) {
    const out = [];
    let block = null;
    const flush = () => {
      if (!block) return;
      const items = block.lines.map(inline);
      if (block.type === "p") out.push(`<p>${items.join("<br>")}</p>`);
      if (block.type === "quote") out.push(`<blockquote>${items.join("<br>")}</blockquote>`);
      if (block.type === "ul") out.push(`<ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul>`);
      if (block.type === "ol") {
        const start = block.start === 1 ? "" : ` start="${block.start}"`;
        out.push(`<ol${start}>${items.map((i) => `<li>${i}</li>`).join("")}</ol>`);
      }
      block = null;
    };
    const add = (type, line, start = 1) => {
      if (block?.type !== type) {
        flush();
        block = { type, start, lines: [] };
      }
      block.lines.push(line);
    };

    const lines = source.replace(/\u0000/g, "").replace(/\r\n?/g, "\n").split("\n");
    for (const raw of lines) {
      const line = escapeHtml(raw.trimEnd());
      let m;
      if (!line.trim()) flush();
      else if ((m = /^(#{1,3})\s+(.*)$/.exec(line))) {
        flush();
        out.push(`<p class="md-h md-h${m[1].length}">${inline(m[2])}</p>`);
      } else if ((m = /^\s*-\s+(.*)$/.exec(line))) add("ul", m[1]);
      else if ((m = /^\s*(\d{1,4})\.\s+(.*)$/.exec(line))) add("ol", m[2], Number(m[1]));
      else if ((m = /^&gt;\s?(.*)$/.exec(line))) add("quote", m[1]);
      else add("p", line);
    }
    flush();
    return out.join("");
  }

  // Rendering --------------------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  function formatTime(ms) {
    const date = new Date(ms);
    const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
    const today = new Date();
    const dayDiff = Math.round(
      (new Date(today.toDateString()) - new Date(date.toDateString())) / 86400000,
    );
    if (dayDiff === 0) return clock;
    if (dayDiff === 1) return `昨天 ${clock}`;
    return `${date.getMonth() + 1}月${date.getDate()}日 ${clock}`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function avatarFor(entry) {
    if (entry.kind === "bot") {
      const node = element("div", "avatar avatar-bot");
      node.innerHTML = SHIELD_SVG;
      return node;
    }
    const name = entry.user || "?";
    const hash = [...name].reduce((sum, ch) => (sum * 31 + ch.codePointAt(0)) >>> 0, 7);
    const node = element("div", "avatar", [...name][0]);
    node.style.background = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
    return node;
  }

  // Plain bot text with its http(s) links made clickable, built from DOM nodes only.
  function linkedText(text) {
    const node = element("div", "bubble bubble-text");
    text.split(/(https?:\/\/[^\s<>"'）)]+)/).forEach((part, i) => {
      if (i % 2 === 1 && isSafeUrl(part)) {
        const link = element("a", "", part);
        link.href = part;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        node.append(link);
      } else node.append(part);
    });
    return node;
  }

  // A pushed article card (WeCom's "news" message): title, summary, and the whole card a link.
  function newsCard(entry) {
    const safe = isSafeUrl(entry.url || "");
    const card = element(safe ? "a" : "div", "bubble news-card");
    if (safe) {
      card.href = entry.url;
      card.target = "_blank";
      card.rel = "noopener noreferrer";
    }
    card.append(element("strong", "news-title", entry.title || "反诈提醒"));
    if (entry.description) card.append(element("p", "news-desc", entry.description));
    card.append(element("span", "news-more", "阅读全文 ›"));
    return card;
  }

  // User text with the bot's @mention highlighted, built from text nodes only.
  function userText(text) {
    const node = element("div", "bubble bubble-text");
    text.split(mention).forEach((part, i) => {
      if (i > 0) node.append(element("span", "mention", mention));
      node.append(part);
    });
    return node;
  }

  function messageNode(entry) {
    const side = entry.kind === "bot" ? "msg-bot" : entry.user === currentUser() ? "msg-me" : "msg-other";
    const row = element("div", `msg ${side}`);
    row.append(avatarFor(entry));
    const body = element("div", "msg-body");
    const meta = element("div", "msg-meta");
    meta.append(element("span", "msg-name", entry.kind === "bot" ? BOT_NAME : entry.user));
    if (entry.kind === "bot") meta.append(element("span", "bot-tag", "机器人"));
    if (entry.push) meta.append(element("span", "push-tag", "推送"));
    const time = element("time", "", formatTime(entry.at));
    time.dateTime = new Date(entry.at).toISOString();
    meta.append(time);
    let bubble;
    if (entry.kind === "bot" && entry.format === "news") {
      bubble = newsCard(entry);
    } else if (entry.kind === "bot" && entry.format === "markdown") {
      bubble = element("div", "bubble md");
      bubble.innerHTML = renderMarkdown(entry.text);
    } else if (entry.kind === "bot") {
      bubble = linkedText(entry.text);
    } else {
      bubble = userText(entry.text);
    }
    body.append(meta, bubble);
    row.append(body);
    return row;
  }

  function appendEntry(entry) {
    const node =
      entry.kind === "notice"
        ? element("p", entry.error ? "notice notice-error" : "notice", entry.text)
        : messageNode(entry);
    log.append(node);
  }

  function welcomeNode(button) {
    const box = element("div", "welcome");
    box.append(element("strong", "", `欢迎来到「${button.dataset.name}」`));
    box.append(element("p", "", `你现在以群成员「${currentUser() || DEFAULT_USER}」的身份发言。`));
    box.append(
      element("p", "", `在群里，${BOT_NAME}只在被 ${mention} 或明确询问诈骗问题时回复。点下面的快捷问题试试看。`),
    );
    return box;
  }

  // Decorative: screen readers hear the reply itself, not the dots.
  function typingNode() {
    const row = messageNode({ kind: "bot", format: "text", text: "", at: Date.now() });
    row.classList.add("is-typing");
    row.setAttribute("aria-hidden", "true");
    const dots = element("span", "typing");
    dots.append(element("span"), element("span"), element("span"));
    row.querySelector(".bubble").replaceChildren(dots);
    return row;
  }

  const scrollToEnd = () => {
    log.scrollTop = log.scrollHeight;
  };

  function renderAll() {
    log.setAttribute("aria-busy", "true");
    log.replaceChildren(welcomeNode(groupButtons.get(current)));
    for (const entry of historyOf(current)) appendEntry(entry);
    if (pendingGroup === current) log.append(typingNode());
    scrollToEnd();
    requestAnimationFrame(() => log.setAttribute("aria-busy", "false"));
  }

  function record(group, entry) {
    const entries = historyOf(group);
    entries.push(entry);
    saveHistory(group, entries);
    if (group === current) {
      const typing = log.querySelector(".is-typing");
      appendEntry(entry);
      if (typing) log.append(typing);
      scrollToEnd();
    } else if (entry.kind === "bot") {
      groupButtons.get(group)?.querySelector(".unread")?.removeAttribute("hidden");
    }
  }

  const notice = (group, text, error = false) =>
    record(group, { id: newId(), kind: "notice", text, error, at: Date.now() });

  // Pushes from the outbox ------------------------------------------------------

  async function pollGroup(group) {
    const after = Number(store.get(sessionStorage, FEED_KEY + group, 0)) || 0;
    const url = `${FEED_URL}?group=${encodeURIComponent(group)}&after=${after}`;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json().catch(() => null);
    const pushes = Array.isArray(data?.pushes) ? data.pushes : [];
    for (const push of pushes) {
      const id = Number(push?.id);
      if (!Number.isFinite(id) || id <= after) continue;
      record(group, {
        id: `push-${id}`,
        kind: "bot",
        push: true,
        format: ["text", "news"].includes(push.format) ? push.format : "markdown",
        text: String(push.text ?? ""),
        title: String(push.title ?? ""),
        description: String(push.description ?? ""),
        url: String(push.url ?? ""),
        at: Number(push.at) || Date.now(),
      });
      store.set(sessionStorage, FEED_KEY + group, id);
    }
  }

  async function pollFeeds() {
    for (const group of groupButtons.keys()) {
      if (group === PRIVATE_GROUP) continue;
      try {
        await pollGroup(group);
      } catch {
        /* offline for a moment: the next poll catches up */
      }
    }
  }

  // Groups and drawer --------------------------------------------------------

  function setDrawer(open) {
    const isNarrow = narrow.matches;
    app.classList.toggle("nav-open", open && isNarrow);
    backdrop.hidden = !(open && isNarrow);
    menuButton.setAttribute("aria-expanded", String(open && isNarrow));
    sidebar.inert = isNarrow && !open;
    if (open && isNarrow) groupButtons.get(current)?.focus();
  }

  function selectGroup(id) {
    const button = groupButtons.get(id) ?? groupButtons.values().next().value;
    if (!button) return;
    current = button.dataset.group;
    for (const [key, item] of groupButtons) {
      if (key === current) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    }
    button.querySelector(".unread")?.setAttribute("hidden", "");
    const { name, label, region, members } = button.dataset;
    $("chat-title").textContent = name;
    $("chat-sub").textContent = [label, region, members && `${members} 人`].filter(Boolean).join(" · ");
    document.title = `${name} · 反诈助手群聊模拟器`;
    store.set(sessionStorage, GROUP_KEY, current);
    if (location.hash.slice(1) !== current) history.replaceState(null, "", `#${current}`);
    renderAll();
  }

  // Sending --------------------------------------------------------------------

  function setBusy(busy) {
    sendButton.disabled = busy;
    $("image-button").disabled = busy;
    for (const chip of document.querySelectorAll(".chip")) chip.disabled = busy;
  }

  async function send(text, image = null) {
    const user = currentUser();
    const group = current;
    if (!group || pendingGroup || (!text.trim() && !image)) return true;
    if (!user) {
      notice(group, "请先在“我的身份”里填一个昵称，再发言。", true);
      setDrawer(true);
      nameInput.focus();
      return false;
    }
    if (image) text = `［图片］${image.name}`;
    const entry = { id: newId(), kind: "user", user, text, at: Date.now() };
    record(group, entry);
    pendingGroup = group;
    setBusy(true);
    const typingTimer = setTimeout(() => {
      if (current === group && !log.querySelector(".is-typing")) {
        log.append(typingNode());
        scrollToEnd();
      }
    }, 350);
    const drop = () => {
      saveHistory(group, historyOf(group).filter((e) => e.id !== entry.id));
      if (group === current) renderAll();
    };
    try {
      const query = new URLSearchParams({ group, user });
      const response = await fetch(image ? `${IMAGE_URL}?${query}` : API_URL, {
        method: "POST",
        headers: {
          "Content-Type": image ? image.type || "application/octet-stream" : "application/json",
          Accept: "application/json",
          ...CSRF_HEADERS,
        },
        body: image || JSON.stringify({ group, user, text }),
        signal: AbortSignal.timeout?.(REQUEST_TIMEOUT_MS),
      });
      const data = await response.json().catch(() => null);
      if (!response.ok) {
        drop();
        const fallback = response.status >= 500
          ? `服务器出了点问题（${response.status}），请稍后再试。`
          : `消息没有发出去（${response.status}）。`;
        notice(group, typeof data?.error === "string" && data.error ? data.error : fallback, true);
        return false;
      }
      const replies = Array.isArray(data?.replies) ? data.replies : [];
      if (replies.length === 0 && !store.get(sessionStorage, QUIET_HINT_KEY, false)) {
        store.set(sessionStorage, QUIET_HINT_KEY, true);
        notice(group, `机器人只在被 ${mention} 或明确询问诈骗问题时回复。`);
      }
      for (const reply of replies) {
        record(group, {
          id: newId(),
          kind: "bot",
          format: reply?.format === "markdown" ? "markdown" : "text",
          text: String(reply?.text ?? ""),
          at: Date.now(),
        });
      }
      return true;
    } catch (error) {
      drop();
      const timedOut = error?.name === "TimeoutError";
      notice(
        group,
        timedOut
          ? "等了很久也没有回应，消息可能没发出去。文字已放回输入框，请稍后再试。"
          : "网络好像断了，消息没有发出去。文字已放回输入框，请检查网络后再试。",
        true,
      );
      return false;
    } finally {
      clearTimeout(typingTimer);
      pendingGroup = null;
      log.querySelector(".is-typing")?.remove();
      setBusy(false);
    }
  }

  function autosize() {
    textarea.style.height = "auto";
    textarea.style.height = `${Math.min(textarea.scrollHeight + 2, 160)}px`;
  }

  function restoreText(text) {
    const rest = textarea.value;
    textarea.value = rest ? `${text}\n${rest}` : text;
    autosize();
  }

  async function submit(text, fromComposer) {
    if (pendingGroup || !text.trim()) return;
    if (fromComposer) {
      textarea.value = "";
      autosize();
    }
    const sent = await send(text);
    if (!sent) restoreText(text);
  }

  function insertMention() {
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    const before = value.slice(0, start);
    const spaced = `${before && !/\s$/.test(before) ? " " : ""}${mention} `;
    textarea.setRangeText(spaced, start, end, "end");
    textarea.focus();
    autosize();
  }

  // Wiring -------------------------------------------------------------------------

  const imageInput = $("image-input");
  $("image-button").addEventListener("click", () => imageInput.click());
  imageInput.addEventListener("change", () => {
    const file = imageInput.files?.[0];
    imageInput.value = "";
    if (file) send("", file);
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(textarea.value, true);
  });

  textarea.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    submit(textarea.value, true);
  });
  textarea.addEventListener("input", autosize);

  $("mention-button").addEventListener("click", insertMention);
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => submit(chip.dataset.text || chip.textContent, false));
  }

  for (const [id, button] of groupButtons) {
    button.addEventListener("click", () => {
      selectGroup(id);
      if (narrow.matches) {
        setDrawer(false);
        menuButton.focus();
      }
    });
  }

  $("clear-button").addEventListener("click", () => {
    if (!current) return;
    saveHistory(current, []);
    renderAll();
    textarea.focus();
  });

  menuButton.addEventListener("click", () => setDrawer(true));
  $("sidebar-close").addEventListener("click", () => {
    setDrawer(false);
    menuButton.focus();
  });
  backdrop.addEventListener("click", () => setDrawer(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && app.classList.contains("nav-open")) {
      setDrawer(false);
      menuButton.focus();
    }
  });
  narrow.addEventListener("change", () => setDrawer(false));

  nameInput.value = store.get(localStorage, USER_KEY, DEFAULT_USER) || DEFAULT_USER;
  nameInput.addEventListener("change", () => {
    const name = currentUser();
    if (name) store.set(localStorage, USER_KEY, name);
    if (current) renderAll();
  });

  window.addEventListener("hashchange", () => {
    const id = location.hash.slice(1);
    if (groupButtons.has(id) && id !== current) selectGroup(id);
  });

  setDrawer(false);
  if (groupButtons.size === 0) {
    form.querySelectorAll("textarea, button").forEach((control) => (control.disabled = true));
    setBusy(true);
    return;
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  selectGroup(groupButtons.has(wanted) ? wanted : store.get(sessionStorage, GROUP_KEY, null));
  pollFeeds();
  setInterval(pollFeeds, FEED_POLL_MS);
})();
