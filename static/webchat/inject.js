/*! Flowstudio webchat widget. Hand-written, no dependencies. See docs/webchat.md (embedding,
 * configuration, window.botpress API, CSS classes) and docs/websocket-protocol.md (frames). */
(function () {
  'use strict';
  if (window.botpress && window.botpress.__flowstudio) return;

  var VERSION = '1.0.0';
  var script = document.currentScript;
  var FONTS = {
    'system': 'system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif',
    'inter': 'Inter,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif',
    'rubik': 'Rubik,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif',
    'ibm plex sans': '"IBM Plex Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif',
    'fira code': '"Fira Code",ui-monospace,SFMono-Regular,Menlo,monospace',
    'serif': 'Georgia,"Times New Roman",serif'
  };
  var DEFAULTS = {
    botName: 'Bot', botAvatar: '', botDescription: '', composerPlaceholder: 'Type your message...',
    color: '#3276EA', themeMode: 'light', fontFamily: 'system', showButton: true, showTimestamp: false,
    storageLocation: 'localStorage', additionalStylesheet: '', allowFileUpload: false, maxFileSizeMb: 5,
    fileTypes: [], closeOnEscape: true, website: null, email: null, phone: null, termsOfService: null,
    privacyPolicy: null
  };
  var REFUSED = { 4401: 1, 4403: 1, 4404: 1 };
  // Shown in an empty chat when the bot says nothing on open (the ready frame's `greeting`);
  // the studio's preview and share page pass the builder's version as `emptyStateText`.
  var EMPTY_TEXT = 'Send a message to start the conversation.';

  // ---- small helpers --------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function assign(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (src) for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k) && src[k] !== undefined) target[k] = src[k];
    }
    return target;
  }
  // Only these schemes ever become a link or a media source: never javascript:, data: or vbscript:.
  function safeUrl(url, media) {
    if (typeof url !== 'string' || !url) return null;
    var parsed;
    try { parsed = new URL(url, S.hostUrl || location.href); } catch (e) { return null; }
    var ok = media ? { 'http:': 1, 'https:': 1, 'blob:': 1 } : { 'http:': 1, 'https:': 1, 'mailto:': 1, 'tel:': 1 };
    return ok[parsed.protocol] ? parsed.href : null;
  }
  function link(href, cls, text) {
    var safe = safeUrl(href);
    if (!safe) return el('span', cls, text);
    var a = el('a', cls, text);
    a.href = safe;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }
  function uid() { return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8); }
  function time(iso) {
    var d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // ---- markdown, built as DOM nodes (text is never parsed as HTML) -----------------------
  var INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>|(\*\*|__)([\s\S]+?)\6|(\*|_)([\s\S]+?)\8|~~([\s\S]+?)~~|(https?:\/\/[^\s<]+[^\s<.,:;"')\]!?])|\n/;
  function inline(text, parent) {
    var before = '';
    while (text) {
      var m = INLINE.exec(text);
      if (!m) { parent.appendChild(document.createTextNode(text)); break; }
      if (m.index) parent.appendChild(document.createTextNode(text.slice(0, m.index)));
      var previous = m.index ? text.charAt(m.index - 1) : before;
      var marker = m[6] || m[8];
      if (marker && marker.charAt(0) === '_' && (/\w/.test(previous) || /\w/.test(text.charAt(m.index + m[0].length)))) {
        // snake_case and __names__ inside words stay as they are (CommonMark).
        parent.appendChild(document.createTextNode(marker));
        before = '_';
        text = text.slice(m.index + marker.length);
        continue;
      }
      before = m[0].charAt(m[0].length - 1);
      if (m[1]) parent.appendChild(el('code', 'bpMessageBlocksTextCode', m[2]));
      else if (m[3]) parent.appendChild(inline(m[3], link(m[4], 'bpMessageBlocksTextLink')));
      else if (m[5]) parent.appendChild(link(m[5], 'bpMessageBlocksTextLink', m[5]));
      else if (m[6]) parent.appendChild(inline(m[7], el('strong', 'bpMessageBlocksTextBold')));
      else if (m[8]) parent.appendChild(inline(m[9], el('em', 'bpMessageBlocksTextItalic')));
      else if (m[10]) parent.appendChild(inline(m[10], el('del', 'bpMessageBlocksTextStrike')));
      else if (m[11]) parent.appendChild(link(m[11], 'bpMessageBlocksTextLink', m[11]));
      else parent.appendChild(el('br', 'bpMessageBlocksTextLineBreak'));
      text = text.slice(m.index + m[0].length);
    }
    return parent;
  }
  function markdown(source) {
    var root = el('div', 'bpMessageBlocksTextMarkdown');
    var lines = String(source).replace(/\r\n?/g, '\n').split('\n');
    var i = 0, para = [], list = null;
    function flush() {
      if (para.length) root.appendChild(inline(para.join('\n'), el('p', 'bpMessageBlocksTextParagraph')));
      para = [];
    }
    while (i < lines.length) {
      var line = lines[i], m;
      if (/^```/.test(line)) {
        flush(); list = null;
        var code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        var pre = el('pre', 'bpMessageBlocksTextCodeBlockContainer');
        pre.appendChild(el('code', 'bpMessageBlocksTextCodeBlock', code.join('\n')));
        root.appendChild(pre);
      } else if ((m = /^(#{1,4})\s+(.*)$/.exec(line))) {
        flush(); list = null;
        root.appendChild(inline(m[2], el('h' + (m[1].length + 2), 'bpMessageBlocksTextHeading' + m[1].length)));
      } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
        flush(); list = null;
        root.appendChild(el('hr', 'bpMessageBlocksTextHorizontalRule'));
      } else if ((m = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line))) {
        flush();
        var tag = m[1] ? 'ul' : 'ol';
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = el(tag, m[1] ? 'bpMessageBlocksTextUnorderedList' : 'bpMessageBlocksTextOrderedList');
          root.appendChild(list);
        }
        list.appendChild(inline(m[3], el('li', 'bpMessageBlocksTextListItem')));
      } else if ((m = /^>\s?(.*)$/.exec(line))) {
        flush(); list = null;
        root.appendChild(inline(m[1], el('blockquote', 'bpMessageBlocksTextQuote')));
      } else if (!line.trim()) {
        flush(); list = null;
      } else {
        list = null;
        para.push(line);
      }
      i++;
    }
    flush();
    return root;
  }

  // ---- styles ---------------------------------------------------------------------------
  var CSS = [
    ':host{all:initial}',
    '*{box-sizing:border-box}',
    '.bpRoot{--bp-primary:#3276EA;--bp-on-primary:#fff;--bp-bg:#fff;--bp-fg:#1a1a1a;--bp-muted:#6b7280;--bp-bubble:#f1f3f5;--bp-border:#e5e7eb;font-family:var(--bp-font);font-size:14px;line-height:1.45;color:var(--bp-fg)}',
    '.bpRoot[data-theme=dark]{--bp-bg:#1e1f22;--bp-fg:#f3f4f6;--bp-muted:#9ca3af;--bp-bubble:#2d2f34;--bp-border:#3a3d43}',
    // The background-workflow blocks (static/webchat/workflow.js) take the widget's theme.
    '.bpRoot{--wf-accent:var(--bp-primary);--wf-on-accent:var(--bp-on-primary);--wf-bg:var(--bp-bg);--wf-fg:var(--bp-fg);--wf-muted:var(--bp-muted);--wf-surface:var(--bp-bubble);--wf-border:var(--bp-border)}',
    '.bpRoot[data-theme=dark]{--wf-danger:#fca5a5;--wf-danger-bg:#4c1d1d;--wf-ok:#86efac;--wf-ok-bg:#14391f}',
    '.bpFab{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:var(--bp-primary);color:var(--bp-on-primary);box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;z-index:2147483000;display:flex;align-items:center;justify-content:center;padding:0}',
    '.bpFab[hidden],.bpWebchat[hidden]{display:none}',
    '.bpFabIcon{width:28px;height:28px;fill:currentColor}',
    '.bpWebchat{position:fixed;right:20px;bottom:90px;width:min(380px,calc(100vw - 24px));height:min(620px,calc(100vh - 110px));background:var(--bp-bg);border:1px solid var(--bp-border);border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.2);display:flex;flex-direction:column;overflow:hidden;z-index:2147483001}',
    '.bpRoot[data-fullscreen] .bpWebchat{inset:0;width:100%;height:100%;border-radius:0;border:0}',
    '.bpRoot[data-fab=hidden] .bpWebchat{bottom:20px}',
    '.bpHeaderContainer{background:var(--bp-primary);color:var(--bp-on-primary);padding:12px 14px;display:flex;align-items:center;gap:10px}',
    '.bpHeaderContentAvatarContainer{width:36px;height:36px;border-radius:50%;overflow:hidden;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:600;flex:none}',
    '.bpHeaderContentAvatarImage,.bpMessageAvatarImage{width:100%;height:100%;object-fit:cover}',
    '.bpHeaderContentContainer{flex:1;min-width:0;cursor:pointer}',
    '.bpHeaderContentTitle{font-weight:600;font-size:15px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}',
    '.bpHeaderContentDescription{font-size:12px;opacity:.85;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}',
    '.bpHeaderButton{background:transparent;border:0;color:inherit;cursor:pointer;font-size:18px;line-height:1;padding:4px 6px;border-radius:6px}',
    '.bpHeaderButton:hover{background:rgba(255,255,255,.18)}',
    '.bpHeaderExpandedContentContainer{padding:10px 14px;border-bottom:1px solid var(--bp-border);font-size:13px;display:flex;flex-direction:column;gap:4px}',
    '.bpHeaderExpandedContentContainer[hidden]{display:none}',
    '.bpHeaderExpandedContentDescriptionItemsLink{color:var(--bp-primary)}',
    '.bpMessageListContainer{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px}',
    '.bpEmptyState{margin:auto 12px;text-align:center;color:var(--bp-muted);font-size:13px}',
    '.bpEmptyState[hidden]{display:none}',
    '.bpMessageContainer{display:flex;gap:8px;align-items:flex-end;max-width:100%}',
    '.bpMessageContainer[data-from=user]{flex-direction:row-reverse}',
    '.bpMessageAvatarContainer{width:26px;height:26px;border-radius:50%;overflow:hidden;background:var(--bp-primary);color:var(--bp-on-primary);display:flex;align-items:center;justify-content:center;font-size:12px;font-weight:600;flex:none}',
    '.bpMessageBody{display:flex;flex-direction:column;gap:4px;max-width:80%;min-width:0}',
    '.bpMessageContainer[data-from=user] .bpMessageBody{align-items:flex-end}',
    '.bpMessageBlocksBubble{background:var(--bp-bubble);padding:8px 12px;border-radius:14px;overflow-wrap:anywhere;white-space:pre-wrap}',
    '.bpMessageContainer[data-from=user] .bpMessageBlocksBubble{background:var(--bp-primary);color:var(--bp-on-primary)}',
    '.bpMessageContainer[data-from=user] .bpMessageBlocksTextLink{color:inherit}',
    '.bpMessagePending .bpMessageBlocksBubble{opacity:.65}',
    '.bpMessageBlocksTextMarkdown{white-space:normal}',
    '.bpMessageBlocksTextMarkdown p{margin:0 0 6px}.bpMessageBlocksTextMarkdown p:last-child{margin:0}',
    '.bpMessageBlocksTextMarkdown ul,.bpMessageBlocksTextMarkdown ol{margin:4px 0;padding-left:20px}',
    '.bpMessageBlocksTextMarkdown h3,.bpMessageBlocksTextMarkdown h4,.bpMessageBlocksTextMarkdown h5,.bpMessageBlocksTextMarkdown h6{margin:4px 0;font-size:15px}',
    '.bpMessageBlocksTextCode,.bpMessageBlocksTextCodeBlock{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}',
    '.bpMessageBlocksTextCodeBlockContainer{margin:4px 0;padding:8px;border-radius:8px;background:rgba(0,0,0,.07);overflow-x:auto;white-space:pre}',
    '.bpMessageBlocksTextQuote{margin:4px 0;padding-left:8px;border-left:3px solid var(--bp-border)}',
    '.bpMessageBlocksTextLink{color:var(--bp-primary)}',
    '.bpMessageBlocksImageImage{max-width:100%;max-height:260px;border-radius:10px;display:block}',
    '.bpMessageBlocksAudio,.bpMessageBlocksVideo{max-width:100%;border-radius:10px}',
    '.bpMessageBlocksCaption{font-size:12px;color:var(--bp-muted)}',
    '.bpMessageBlocksChoiceContainer{display:flex;flex-wrap:wrap;gap:6px}',
    '.bpMessageBlocksButton{border:1px solid var(--bp-primary);color:var(--bp-primary);background:var(--bp-bg);border-radius:16px;padding:6px 12px;font:inherit;cursor:pointer}',
    '.bpMessageBlocksButton:hover:not(:disabled){background:var(--bp-primary);color:var(--bp-on-primary)}',
    '.bpMessageBlocksButton:disabled{opacity:.5;cursor:default}',
    '.bpMessageBlocksDropdownContainer{display:flex;gap:6px}',
    '.bpMessageBlocksDropdownContentContainer{flex:1;font:inherit;padding:6px;border-radius:8px;border:1px solid var(--bp-border);background:var(--bp-bg);color:var(--bp-fg)}',
    '.bpMessageBlocksCarouselContainer{display:flex;gap:8px;overflow-x:auto;max-width:100%;padding-bottom:4px}',
    '.bpMessageBlocksBloc{display:flex;flex-direction:column;gap:6px;align-items:flex-start}',
    '.bpMessageBlocksCardContainer{border:1px solid var(--bp-border);border-radius:12px;overflow:hidden;min-width:200px;max-width:240px;background:var(--bp-bg);display:flex;flex-direction:column}',
    '.bpMessageBlocksCardImage{width:100%;height:120px;object-fit:cover;display:block}',
    '.bpMessageBlocksCardTitle{font-weight:600;padding:8px 10px 0}',
    '.bpMessageBlocksCardSubtitle{font-size:12px;color:var(--bp-muted);padding:2px 10px 0}',
    '.bpMessageBlocksCardActions{display:flex;flex-direction:column;gap:6px;padding:8px 10px 10px}',
    '.bpMessageBlocksCardActions .bpMessageBlocksButton{text-align:center;text-decoration:none;display:block}',
    '.bpMessageBlocksFileContainer,.bpMessageBlocksLocationContainer{display:inline-flex;gap:6px;align-items:center;color:inherit}',
    '.bpMessageTimestamp{font-size:11px;color:var(--bp-muted)}',
    '.bpTypingIndicatorContainer{display:flex;gap:4px;padding:10px 12px;background:var(--bp-bubble);border-radius:14px;width:max-content}',
    '.bpTypingIndicatorContainer[hidden]{display:none}',
    '.bpTypingIndicatorDot{width:6px;height:6px;border-radius:50%;background:var(--bp-muted);animation:bpBlink 1.2s infinite}',
    '.bpTypingIndicatorDot:nth-child(2){animation-delay:.2s}.bpTypingIndicatorDot:nth-child(3){animation-delay:.4s}',
    '@keyframes bpBlink{0%,80%,100%{opacity:.3}40%{opacity:1}}',
    '.bpErrorContainer{margin:0 14px 8px;padding:8px 10px;border-radius:8px;background:#fde8e8;color:#9b1c1c;font-size:13px}',
    '.bpErrorContainer[hidden]{display:none}',
    '.bpComposerContainer{display:flex;gap:6px;align-items:flex-end;padding:10px;border-top:1px solid var(--bp-border)}',
    '.bpComposerInput{flex:1;resize:none;border:1px solid var(--bp-border);border-radius:10px;padding:8px 10px;font:inherit;max-height:120px;background:var(--bp-bg);color:var(--bp-fg);outline:none}',
    '.bpComposerInput:focus{border-color:var(--bp-primary)}',
    '.bpComposerSendButton,.bpComposerUploadButton{border:0;background:var(--bp-primary);color:var(--bp-on-primary);border-radius:10px;padding:8px 12px;font:inherit;cursor:pointer}',
    '.bpComposerUploadButton{background:transparent;color:var(--bp-fg);border:1px solid var(--bp-border)}',
    '.bpComposerUploadButton[hidden]{display:none}',
    '.bpComposerSendButton:disabled{opacity:.5;cursor:default}',
    '.bpComposerStopButton{border:1px solid var(--bp-border);background:var(--bp-bg);color:var(--bp-fg);border-radius:10px;padding:8px 12px;font:inherit;cursor:pointer}',
    '.bpComposerStopButton[hidden]{display:none}',
    '.bpMessageCancelled .bpMessageBlocksBubble{opacity:.6}',
    '.bpMessageCancelledNote{font-size:11px;color:var(--bp-muted);text-align:right}'
  ].join('\n');

  // ---- state ----------------------------------------------------------------------------
  var S = {
    botId: null, hostUrl: null, options: null, configuration: assign({}, DEFAULTS),
    userKey: null, conversationId: null, user: null, seq: 0, boundary: 0, typing: 0,
    ready: false, refused: false, transport: null, queue: [], waiting: {}, started: {}, readyWaiters: [],
    ui: null, opened: false, greeting: null
  };
  var listeners = {};
  // Background workflows (docs/workflows.md): one block per run in the message list, from
  // the progress events and the ready frame's activeWorkflows. workflow.js is served in
  // front of this file; without it progress events are ignored like other events.
  var WORKFLOW_UI = window.FlowstudioWorkflowUI || null;
  var workflows = WORKFLOW_UI ? WORKFLOW_UI.create({
    send: function (frame) { return request(frame); },
    place: function (node, seq) {
      if (seq != null) node.setAttribute('data-seq', seq);
      appendRow(node);
    },
    changed: function () { scrollDown(); }
  }) : null;

  function emit(name, data) {
    var lists = [listeners[name] || [], listeners['*'] || []];
    for (var l = 0; l < lists.length; l++) {
      var handlers = lists[l].slice();
      for (var i = 0; i < handlers.length; i++) {
        try { l ? handlers[i](data, name) : handlers[i](data); } catch (e) { if (window.console) console.error(e); }
      }
    }
  }

  // ---- storage (localStorage keeps the user across visits; sessionStorage per tab) -------
  function store() {
    try { return window[S.configuration.storageLocation === 'sessionStorage' ? 'sessionStorage' : 'localStorage']; }
    catch (e) { return null; }
  }
  function storageKey() { return 'bp-webchat:' + S.botId; }
  function loadSaved() {
    try { return JSON.parse((store() && store().getItem(storageKey())) || '{}') || {}; } catch (e) { return {}; }
  }
  function save() {
    try { store() && store().setItem(storageKey(), JSON.stringify({ userKey: S.userKey, conversationId: S.conversationId })); }
    catch (e) { /* storage full or blocked: the user is new next time */ }
  }

  // ---- UI -------------------------------------------------------------------------------
  function buildUi() {
    var host = el('div', 'bpContainer');
    host.id = 'bp-web-widget-container';
    var shadow = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
    var style = el('style', null, CSS + '\n' + (WORKFLOW_UI ? WORKFLOW_UI.CSS : ''));
    var custom = el('style', 'bpCustomStylesheet');
    var root = el('div', 'bpRoot');
    var fab = el('button', 'bpFab');
    fab.type = 'button';
    fab.setAttribute('aria-label', 'Open the chat');
    fab.innerHTML = '<svg class="bpFabIcon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    fab.addEventListener('click', function () { api.toggle(); });

    var win = el('div', 'bpWebchat');
    win.hidden = true;
    win.setAttribute('role', 'dialog');
    var header = el('div', 'bpHeaderContainer');
    var avatar = el('div', 'bpHeaderContentAvatarContainer');
    var titleBox = el('div', 'bpHeaderContentContainer');
    var title = el('div', 'bpHeaderContentTitle');
    var description = el('div', 'bpHeaderContentDescription');
    var restart = el('button', 'bpHeaderButton bpHeaderNewConversationIcon', '\u21bb');
    restart.type = 'button';
    restart.title = 'New conversation';
    restart.setAttribute('aria-label', 'New conversation');
    restart.addEventListener('click', function () { api.restartConversation(); });
    var closeButton = el('button', 'bpHeaderButton bpHeaderCloseButton', '\u00d7');
    closeButton.type = 'button';
    closeButton.setAttribute('aria-label', 'Close the chat');
    closeButton.addEventListener('click', function () { api.close(); });
    add(header, avatar, add(titleBox, title, description), restart, closeButton);
    var expanded = el('div', 'bpHeaderExpandedContentContainer');
    expanded.hidden = true;
    titleBox.addEventListener('click', function () { expanded.hidden = !expanded.hidden; });

    var list = el('div', 'bpMessageListContainer');
    list.setAttribute('aria-live', 'polite');
    var empty = el('div', 'bpEmptyState');
    empty.hidden = true;
    empty.setAttribute('role', 'note');
    // Whatever adds or removes a row (messages, streams, a new conversation) rechecks it.
    if (window.MutationObserver) new MutationObserver(updateEmpty).observe(list, { childList: true });
    var typing = el('div', 'bpTypingIndicatorContainer');
    typing.hidden = true;
    add(typing, el('span', 'bpTypingIndicatorDot'), el('span', 'bpTypingIndicatorDot'), el('span', 'bpTypingIndicatorDot'));
    var error = el('div', 'bpErrorContainer');
    error.hidden = true;
    error.setAttribute('role', 'alert');

    var composer = el('form', 'bpComposerContainer');
    var upload = el('button', 'bpComposerUploadButton', '\ud83d\udcce');
    upload.type = 'button';
    upload.setAttribute('aria-label', 'Send a file');
    var fileInput = el('input');
    fileInput.type = 'file';
    fileInput.hidden = true;
    upload.addEventListener('click', function () { fileInput.click(); });
    fileInput.addEventListener('change', function () {
      if (fileInput.files && fileInput.files[0]) sendFile(fileInput.files[0]);
      fileInput.value = '';
    });
    var input = el('textarea', 'bpComposerInput');
    input.rows = 1;
    input.setAttribute('aria-label', 'Message');
    var send = el('button', 'bpComposerSendButton', 'Send');
    send.type = 'submit';
    // Shown while an answer streams in: stops it (the partial answer is dropped).
    var stop = el('button', 'bpComposerStopButton', 'Stop');
    stop.type = 'button';
    stop.hidden = true;
    stop.setAttribute('aria-label', 'Stop the answer');
    stop.addEventListener('click', function () { api.stopAnswer().catch(function () {}); });
    composer.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = input.value;
      if (!text.trim()) return;
      input.value = '';
      api.sendMessage(text).catch(function () {});
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event('submit')); }
    });
    add(composer, upload, fileInput, input, stop, send);
    add(win, header, expanded, list, error, composer);
    add(root, win, fab);
    add(shadow, style, custom, root);
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && S.opened && S.configuration.closeOnEscape && !S.options.fullscreen) api.close();
    });
    (document.body || document.documentElement).appendChild(host);
    S.ui = { host: host, shadow: shadow, root: root, fab: fab, win: win, avatar: avatar, title: title,
      description: description, expanded: expanded, list: list, empty: empty, typing: typing, error: error, input: input,
      send: send, stop: stop, upload: upload, custom: custom, restart: restart, closeButton: closeButton };
    applyConfiguration();
  }

  function avatarNode(url, name, cls) {
    var safe = safeUrl(url, true);
    if (safe) {
      var img = el('img', cls);
      img.src = safe;
      img.alt = '';
      return img;
    }
    return document.createTextNode((name || '?').trim().charAt(0).toUpperCase());
  }

  function applyConfiguration() {
    var c = S.configuration, ui = S.ui;
    if (!ui) return;
    ui.root.style.setProperty('--bp-primary', /^#[0-9a-f]{3,8}$/i.test(c.color) ? c.color : DEFAULTS.color);
    ui.root.style.setProperty('--bp-font', FONTS[c.fontFamily] || FONTS.system);
    ui.root.setAttribute('data-theme', c.themeMode === 'dark' ? 'dark' : 'light');
    if (S.options.fullscreen) ui.root.setAttribute('data-fullscreen', '');
    var showFab = c.showButton !== false && !S.options.fullscreen;
    ui.fab.hidden = !showFab;
    ui.root.setAttribute('data-fab', showFab ? 'shown' : 'hidden');
    ui.closeButton.hidden = !!S.options.fullscreen;
    ui.title.textContent = c.botName || DEFAULTS.botName;
    ui.description.textContent = c.botDescription || '';
    ui.avatar.textContent = '';
    ui.avatar.appendChild(avatarNode(c.botAvatar, c.botName, 'bpHeaderContentAvatarImage'));
    ui.input.placeholder = c.composerPlaceholder || DEFAULTS.composerPlaceholder;
    ui.upload.hidden = !c.allowFileUpload;
    ui.custom.textContent = typeof c.additionalStylesheet === 'string' ? c.additionalStylesheet : '';
    ui.expanded.textContent = '';
    if (c.botDescription) ui.expanded.appendChild(el('div', 'bpHeaderExpandedContentDescription', c.botDescription));
    ['website', 'email', 'phone', 'termsOfService', 'privacyPolicy'].forEach(function (key) {
      var item = c[key];
      if (item && item.link) ui.expanded.appendChild(link(item.link, 'bpHeaderExpandedContentDescriptionItemsLink', item.title || item.link));
    });
  }

  // The empty chat of a bot that does not greet on open says how to begin instead of nothing.
  function updateEmpty() {
    var ui = S.ui;
    if (!ui) return;
    var show = S.ready && S.greeting === false && !ui.list.querySelector('.bpMessageContainer');
    if (show && ui.empty.parentNode !== ui.list) ui.list.insertBefore(ui.empty, ui.list.firstChild);
    ui.empty.textContent = (S.options && S.options.emptyStateText) || EMPTY_TEXT;
    ui.empty.hidden = !show;
  }

  function scrollDown() { var list = S.ui.list; list.scrollTop = list.scrollHeight; }
  function showError(message) {
    S.ui.error.textContent = message || '';
    S.ui.error.hidden = !message;
  }
  // Several turns of one conversation may overlap (one waits for the other), so "typing"
  // counts: it shows while more turns started than finished. A bot message resets it (a
  // long poll can miss an "off").
  function typing(on) {
    S.typing = on === null ? 0 : Math.max(0, S.typing + (on ? 1 : -1));
    setTyping(S.typing > 0);
  }

  function setTyping(on) {
    var ui = S.ui;
    ui.typing.hidden = !on;
    if (on) { ui.list.appendChild(ui.typing); scrollDown(); }
  }

  // ---- rendering messages ----------------------------------------------------------------
  function displayText(m) {
    var p = m.payload || {};
    if (typeof p.text === 'string') return p.text;
    if (typeof p.label === 'string') return p.label;
    if (p.value != null) return String(p.value);
    return p.title || '';
  }

  function choiceButtons(options, container) {
    var box = el('div', 'bpMessageBlocksChoiceContainer');
    (options || []).forEach(function (option) {
      var label = option && option.label != null ? String(option.label) : String(option && option.value);
      var button = el('button', 'bpMessageBlocksButton', label);
      button.type = 'button';
      button.addEventListener('click', function () {
        disableChoices(container);
        reply({ type: 'choice', value: option.value, label: label });
      });
      box.appendChild(button);
    });
    return box;
  }

  function dropdown(options, container) {
    var box = el('div', 'bpMessageBlocksDropdownContainer');
    var select = el('select', 'bpMessageBlocksDropdownContentContainer');
    select.appendChild(el('option', null, 'Select...')).value = '';
    (options || []).forEach(function (option, index) {
      var item = el('option', 'bpMessageBlocksDropdownContentItem', option.label != null ? option.label : option.value);
      item.value = String(index);
      select.appendChild(item);
    });
    var go = el('button', 'bpMessageBlocksButton', 'Send');
    go.type = 'button';
    go.addEventListener('click', function () {
      var option = options[Number(select.value)];
      if (select.value === '' || !option) return;
      disableChoices(container);
      reply({ type: 'choice', value: option.value, label: String(option.label != null ? option.label : option.value) });
    });
    return add(box, select, go);
  }

  // Quick replies (choices, dropdowns) answer once; card buttons stay usable.
  function disableChoices(container) {
    var controls = container.querySelectorAll('.bpMessageBlocksChoiceContainer button,.bpMessageBlocksDropdownContainer button,.bpMessageBlocksDropdownContainer select');
    for (var i = 0; i < controls.length; i++) controls[i].disabled = true;
  }

  function cardNode(card, container) {
    var box = el('div', 'bpMessageBlocksCardContainer');
    var image = safeUrl(card.imageUrl, true);
    if (image) { var img = el('img', 'bpMessageBlocksCardImage'); img.src = image; img.alt = ''; box.appendChild(img); }
    box.appendChild(el('div', 'bpMessageBlocksCardTitle', card.title || ''));
    if (card.subtitle) box.appendChild(el('div', 'bpMessageBlocksCardSubtitle', card.subtitle));
    var actions = el('div', 'bpMessageBlocksCardActions');
    (card.actions || []).forEach(function (action) {
      var label = String(action.label != null ? action.label : action.value);
      if (action.action === 'url') {
        actions.appendChild(link(action.value, 'bpMessageBlocksButton', label));
        return;
      }
      var button = el('button', 'bpMessageBlocksButton', label);
      button.type = 'button';
      button.addEventListener('click', function () {
        if (action.action === 'say') reply({ type: 'text', text: String(action.value) });
        else reply({ type: 'postback', value: action.value, label: label });
      });
      actions.appendChild(button);
    });
    if (actions.childNodes.length) box.appendChild(actions);
    return box;
  }

  function media(tag, url, cls) {
    var safe = safeUrl(url, true);
    if (!safe) return null;
    var node = el(tag, cls);
    node.src = safe;
    if (tag === 'img') node.alt = '';
    else node.controls = true;
    return node;
  }

  function block(m, container) {
    var p = m.payload || {}, type = m.type, node;
    var bubble = el('div', 'bpMessageBlocksBubble');
    if (type === 'text') {
      return add(bubble, el('div', 'bpMessageBlocksTextText', p.text));
    }
    if (type === 'markdown') {
      return add(bubble, markdown(p.markdown != null ? p.markdown : p.text || ''));
    }
    if (type === 'image') {
      node = el('div', 'bpMessageBlocksImage');
      var img = media('img', p.imageUrl, 'bpMessageBlocksImageImage');
      if (img) {
        var anchor = link(p.imageUrl, 'bpMessageBlocksImageLink');
        anchor.appendChild(img);
        node.appendChild(anchor);
      }
      if (p.title) node.appendChild(el('div', 'bpMessageBlocksCaption', p.title));
      return node;
    }
    if (type === 'audio' || type === 'video') {
      node = el('div', type === 'audio' ? 'bpMessageBlocksAudioContainer' : 'bpMessageBlocksVideoContainer');
      add(node, media(type, p[type + 'Url'], type === 'audio' ? 'bpMessageBlocksAudio' : 'bpMessageBlocksVideo'));
      if (p.title) node.appendChild(el('div', 'bpMessageBlocksCaption', p.title));
      return node;
    }
    if (type === 'file') {
      var file = link(p.fileUrl, 'bpMessageBlocksFileContainer');
      add(file, el('span', 'bpMessageBlocksFileIcon', '\ud83d\udcc4'), el('span', 'bpMessageBlocksFileTitle', p.title || 'File'));
      return add(bubble, file);
    }
    if (type === 'location') {
      var lat = Number(p.latitude), lon = Number(p.longitude);
      var place = link('https://www.openstreetmap.org/?mlat=' + lat + '&mlon=' + lon + '#map=16/' + lat + '/' + lon,
        'bpMessageBlocksLocationContainer');
      add(place, el('span', 'bpMessageBlocksLocationIcon', '\ud83d\udccd'),
        el('span', 'bpMessageBlocksLocationTitle', p.title || p.address || (lat + ', ' + lon)));
      if (p.title && p.address) place.appendChild(el('span', 'bpMessageBlocksLocationAddress', p.address));
      return add(bubble, place);
    }
    if (type === 'card') return cardNode(p, container);
    if (type === 'carousel') {
      node = el('div', 'bpMessageBlocksCarouselContainer');
      (p.items || []).forEach(function (item) { node.appendChild(cardNode(item, container)); });
      return node;
    }
    if (type === 'bloc') {
      // One message of several items, each drawn as the message of its own type would be.
      node = el('div', 'bpMessageBlocksBloc');
      (p.items || []).forEach(function (item) {
        if (item && typeof item.type === 'string' && item.type !== 'bloc') add(node, block({type: item.type, payload: item}, container));
      });
      return node;
    }
    if (type === 'choice' || type === 'dropdown' || type === 'quick_reply' && p.options) {
      node = el('div', 'bpMessageBlocksColumn');
      if (p.text) add(node, add(bubble, el('div', 'bpMessageBlocksTextText', p.text)));
      node.appendChild(type === 'dropdown' ? dropdown(p.options, container) : choiceButtons(p.options, container));
      return node;
    }
    return add(bubble, el('div', 'bpMessageBlocksTextText', displayText(m) || '(' + type + ')'));
  }

  function userBlock(m) {
    if (m.type === 'image' || m.type === 'file') return block(m);
    return add(el('div', 'bpMessageBlocksBubble'), el('div', 'bpMessageBlocksTextText', displayText(m)));
  }

  function messageRow(m, fromUser) {
    var row = el('div', 'bpMessageContainer ' + (fromUser ? 'bpMessageFromUser' : 'bpMessageFromBot'));
    row.setAttribute('data-from', fromUser ? 'user' : 'bot');
    row.setAttribute('data-type', m.type);
    if (m.seq) row.setAttribute('data-seq', m.seq);
    if (!fromUser) {
      var avatar = el('div', 'bpMessageAvatarContainer');
      avatar.appendChild(avatarNode(S.configuration.botAvatar, S.configuration.botName, 'bpMessageAvatarImage'));
      row.appendChild(avatar);
    }
    var body = el('div', 'bpMessageBody');
    body.appendChild(fromUser ? userBlock(m) : block(m, row));
    if (S.configuration.showTimestamp) body.appendChild(el('time', 'bpMessageTimestamp', time(m.createdAt)));
    row.appendChild(body);
    if (fromUser && m.metadata && m.metadata.cancelled) markCancelled(row);
    return row;
  }

  // A message whose answer the user stopped.
  function markCancelled(row) {
    if (row.classList.contains('bpMessageCancelled')) return;
    row.classList.add('bpMessageCancelled');
    var body = row.querySelector('.bpMessageBody') || row;
    body.appendChild(el('div', 'bpMessageCancelledNote', 'Answer stopped'));
  }

  // ---- streamed answers: a bubble grows with each delta until the stored message with the
  // same streamId replaces it; a stop, a cancelled turn or the end of the bot's work drops it.
  function streamRows() { return S.ui.list.querySelectorAll('.bpMessageStreaming'); }
  function streamRow(id) {
    var rows = streamRows();
    for (var i = 0; i < rows.length; i++) if (rows[i].getAttribute('data-stream-id') === id) return rows[i];
    return null;
  }
  function updateStop() { S.ui.stop.hidden = !streamRows().length; }
  function dropStreams(id) {
    var rows = streamRows();
    for (var i = 0; i < rows.length; i++) if (id === undefined || rows[i].getAttribute('data-stream-id') === id) rows[i].remove();
    updateStop();
  }
  function onDelta(f) {
    if (f.conversationId && f.conversationId !== S.conversationId) return;
    if (typeof f.streamId !== 'string' || typeof f.delta !== 'string') return;
    if (S.stopping) return;  // pieces already on their way when the user pressed stop
    var row = streamRow(f.streamId);
    if (f.discard) {  // it was the model thinking aloud beside a tool call, not an answer
      if (row) row.remove();
      updateStop();
      return;
    }
    if (!row) {
      row = messageRow({ type: 'text', payload: { text: '' } }, false);
      row.classList.add('bpMessageStreaming');
      row.setAttribute('data-stream-id', f.streamId);
      row.bpText = '';
      appendRow(row);
    }
    // `offset` is where the piece starts: a piece seen twice, or an answer streamed again
    // from the start, overwrites instead of repeating.
    var offset = typeof f.offset === 'number' ? Math.min(f.offset, row.bpText.length) : row.bpText.length;
    row.bpText = row.bpText.slice(0, offset) + f.delta;
    row.querySelector('.bpMessageBlocksTextText').textContent = row.bpText;
    S.ui.typing.hidden = true;  // the growing bubble says the bot is writing
    updateStop();
    scrollDown();
    emit('messageDelta', { streamId: f.streamId, delta: f.delta, text: row.bpText });
  }
  function onCancelled(f) {
    if (f.conversationId && f.conversationId !== S.conversationId) return;
    S.stopping = false;
    dropStreams();
    var row = f.messageSeq && S.ui.list.querySelector('.bpMessageContainer[data-seq="' + Number(f.messageSeq) + '"]');
    if (row) markCancelled(row);
    emit('cancelled', { messageSeq: f.messageSeq });
  }

  // Rows stay in seq order; rows still waiting for their seq (just sent) and the typing
  // indicator come after every stored message.
  function appendRow(row) {
    var ui = S.ui, seq = Number(row.getAttribute('data-seq')) || 0, before = null;
    for (var node = ui.list.firstChild; node; node = node.nextSibling) {
      if (node === ui.typing || (seq && (node.classList.contains('bpMessagePending')
          || Number(node.getAttribute('data-seq')) > seq))) { before = node; break; }
    }
    ui.list.insertBefore(row, before);
    scrollDown();
  }

  function pendingRows() { return S.ui.list.querySelectorAll('.bpMessagePending'); }

  function renderMessage(m) {
    var fromUser = m.direction === 'incoming';
    if (fromUser) {
      // Choices are answered once the user has said something after them.
      var open = S.ui.list.querySelectorAll('.bpMessageFromBot');
      for (var j = 0; j < open.length; j++) disableChoices(open[j]);
      // Our own message coming back: confirm the bubble already shown for it.
      var pending = pendingRows();
      for (var i = 0; i < pending.length; i++) {
        var seq = pending[i].getAttribute('data-seq');
        if (seq ? Number(seq) === m.seq : pending[i].getAttribute('data-text') === displayText(m)) {
          var confirmed = pending[i];
          confirmed.classList.remove('bpMessagePending');
          confirmed.removeAttribute('data-text');
          confirmed.setAttribute('data-seq', m.seq);
          appendRow(confirmed);  // moves it to its place among the stored messages
          return;
        }
      }
    }
    appendRow(messageRow(m, fromUser));
  }

  // ---- frames from the server ------------------------------------------------------------
  function onFrame(f) {
    if (!f || typeof f !== 'object') return;
    if (f.type === 'ready') return onReady(f);
    if (f.type === 'message') return onMessage(f);
    if (f.type === 'typing') {
      typing(!!f.on);
      // The bot's work is done: an answer that never became a message (it failed) goes.
      if (!f.on && S.typing === 0) { S.stopping = false; dropStreams(); }
      return;
    }
    if (f.type === 'delta') return onDelta(f);
    if (f.type === 'cancelled') return onCancelled(f);
    if (f.type === 'deleted') return (f.messageSeqs || []).forEach(function (seq) {
      var row = S.ui.list.querySelector('.bpMessageContainer[data-seq="' + Number(seq) + '"]');
      if (row) row.remove();
    });
    if (f.type === 'conversation') {
      switchConversation(f.conversationId);
      return settle(f);
    }
    if (f.type === 'error') {
      var failure = { code: f.code, message: f.message, errors: f.errors };
      // A refused form answer is shown on the form itself, under its fields.
      if (f.code !== 'invalid_workflow_data') showError(f.message);
      emit('error', failure);
      return settle(f, failure);
    }
    settle(f);
  }

  function onReady(f) {
    var first = !S.ready, previous = S.conversationId;
    S.userKey = f.userKey;
    S.user = f.user;
    api.user = f.user;
    if (previous && previous !== f.conversationId) clearList();
    S.conversationId = f.conversationId;
    api.conversationId = f.conversationId;
    // History already in the transcript (a first load) is shown but not re-announced;
    // what was missed while disconnected is announced.
    S.boundary = f.seq > 0 ? f.seq : (f.lastSeq || 0);
    save();
    S.ready = true;
    S.readyLastSeq = f.lastSeq || 0;
    if (workflows) workflows.active(f.activeWorkflows);
    S.greeting = f.greeting !== false;  // a server that does not say is taken to greet
    updateEmpty();
    typing(null);  // an "off" may have been lost with the old connection
    showError('');
    if (previous !== f.conversationId) emit('conversation', f.conversationId);
    if (first) emit('webchat:ready', { conversationId: S.conversationId, userId: f.user && f.user.id });
    // The welcome goes first: what the user typed before the socket was up comes after it.
    if (S.opened) startConversation();
    flushQueue();
    var waiters = S.readyWaiters;
    S.readyWaiters = [];
    waiters.forEach(function (resolve) { resolve(); });
  }

  function onMessage(f) {
    if (f.conversationId && f.conversationId !== S.conversationId) return;
    if (f.seq <= S.seq) return;
    S.seq = f.seq;
    var m = f.message, live = f.seq > S.boundary;
    if (m.type === 'event') {
      var payload = m.payload && m.payload.payload !== undefined ? m.payload.payload : m.payload;
      // A workflow's progress is shown, history included: a reload rebuilds its block.
      if (m.direction !== 'incoming' && workflows && workflows.event(payload, f.seq, f.seq <= S.readyLastSeq)) {
        if (live) emit('workflow', payload);
        return;
      }
      // Other events are not shown. The page's own (incoming) ones are only in the transcript.
      if (live && m.direction !== 'incoming') onBotEvent(payload);
      return;
    }
    if (m.direction !== 'incoming') typing(null);
    // The stored answer replaces the bubble its pieces grew (never both).
    if (m.direction !== 'incoming' && m.payload && typeof m.payload.streamId === 'string') dropStreams(m.payload.streamId);
    renderMessage(m);
    if (live && m.direction !== 'incoming') emit('message', m);
  }

  function onBotEvent(payload) {
    var kind = payload && payload.type;
    if (kind === 'webchat:show') return api.open();
    if (kind === 'webchat:hide') return api.close();
    if (kind === 'webchat:toggle') return api.toggle();
    if (kind === 'webchat:configure') return api.config({ configuration: payload.configuration || {} });
    emit('customEvent', payload);
  }

  function clearList() {
    var ui = S.ui;
    if (workflows) workflows.clear();
    ui.list.textContent = '';
    typing(null);
    updateStop();
  }

  function switchConversation(id) {
    clearList();
    S.conversationId = id;
    api.conversationId = id;
    S.seq = 0;
    S.boundary = 0;
    save();
    emit('conversation', id);
    if (S.opened) startConversation();
  }

  function startConversation() {
    if (S.started[S.conversationId]) return;
    S.started[S.conversationId] = true;
    request({ type: 'start' }).catch(function () { S.started[S.conversationId] = false; });
  }

  // ---- requests (frames to the server with a reply) --------------------------------------
  function request(frame) {
    frame.clientId = uid();
    if (S.refused) {
      var err = new Error(S.refused.message);
      err.code = S.refused.code;
      return Promise.reject(err);
    }
    return new Promise(function (resolve, reject) {
      S.waiting[frame.clientId] = { resolve: resolve, reject: reject };
      if (S.ready) S.transport.send(frame); else S.queue.push(frame);
    });
  }

  function settle(f, failure) {
    var waiting = f.clientId && S.waiting[f.clientId];
    if (!waiting) return;
    delete S.waiting[f.clientId];
    if (failure) {
      var err = new Error(failure.message);
      err.code = failure.code;
      if (failure.errors) err.errors = failure.errors;
      waiting.reject(err);
    } else waiting.resolve(f);
  }

  function flushQueue() {
    var queue = S.queue;
    S.queue = [];
    for (var i = 0; i < queue.length; i++) S.transport.send(queue[i]);
  }

  function failAll(failure) {
    for (var id in S.waiting) settle({ clientId: id }, failure);
    S.queue = [];
  }

  // The connection dropped: frames already sent may or may not have been stored, so their
  // promises fail (a stored message comes back with the replay); queued ones wait.
  function failInFlight() {
    var queued = {};
    S.queue.forEach(function (frame) { queued[frame.clientId] = true; });
    for (var id in S.waiting) {
      if (!queued[id]) settle({ clientId: id }, { code: 'disconnected', message: 'the connection was lost; reconnecting' });
    }
  }

  function reply(payload) {
    S.stopping = false;  // a new question streams its answer again
    var text = payload.type === 'text' ? payload.text : payload.label;
    var row = messageRow({ type: 'text', payload: { text: text } }, true);
    row.classList.add('bpMessagePending');
    row.setAttribute('data-text', text);
    appendRow(row);
    var frame = { type: 'message', payload: payload };
    return request(frame).then(function (ack) {
      // The message may have come back (poll or socket) before its acknowledgement.
      var shown = S.ui.list.querySelector('.bpMessageContainer[data-seq="' + ack.messageSeq + '"]');
      if (shown && shown !== row) row.remove();
      else row.setAttribute('data-seq', ack.messageSeq);
      var sent = { seq: ack.messageSeq, conversationId: S.conversationId, type: payload.type, payload: payload };
      emit('messageSent', sent);
      return sent;
    }, function (err) {
      row.remove();
      throw err;
    });
  }

  function whenReady() {
    if (S.ready) return Promise.resolve();
    if (S.refused) return Promise.reject(new Error(S.refused.message));
    return new Promise(function (resolve) { S.readyWaiters.push(resolve); });
  }

  function sendFile(file) {
    var c = S.configuration;
    if (!c.allowFileUpload) return Promise.reject(new Error('file upload is not enabled'));
    if (file.size > c.maxFileSizeMb * 1024 * 1024) {
      var message = file.name + ' is larger than ' + c.maxFileSizeMb + ' MB';
      showError(message);
      emit('error', { code: 'upload_too_large', message: message });
      return Promise.reject(new Error(message));
    }
    return whenReady().then(function () { return upload(file); });
  }

  function upload(file) {
    var form = new FormData();
    form.append('file', file);
    form.append('conversationId', S.conversationId);
    return fetch(S.hostUrl + '/webchat/' + S.botId + '/api/upload', {
      method: 'POST', body: form, headers: { 'X-Webchat-User-Key': S.userKey }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          showError(body.message);
          emit('error', { code: body.code, message: body.message });
          throw new Error(body.message);
        }
        emit('messageSent', { seq: body.messageSeq, conversationId: S.conversationId, type: 'file', payload: { title: file.name } });
        return body;
      });
    });
  }

  // ---- transports ------------------------------------------------------------------------
  function hello() {
    var saved = loadSaved(), o = S.options;
    var frame = { type: 'hello', after: S.seq };
    if (S.userKey || saved.userKey) frame.userKey = S.userKey || saved.userKey;
    if (S.conversationId || saved.conversationId) frame.conversationId = S.conversationId || saved.conversationId;
    if (o.identity) frame.identity = o.identity;
    if (o.user) frame.user = o.user;
    return frame;
  }

  function refused(failure) {
    S.refused = failure;
    S.ready = false;
    showError(failure.message);
    emit('error', failure);
    failAll(failure);
  }

  function websocketTransport() {
    var socket = null, delay = 500, everOpened = false, failures = 0, closed = false, lastError = null;
    function connect() {
      var url = S.hostUrl.replace(/^http/, 'ws') + '/ws/webchat/' + encodeURIComponent(S.botId) + '/';
      try { socket = new WebSocket(url); } catch (e) { return fallback(); }
      var opened = false;
      socket.onopen = function () { opened = everOpened = true; delay = 500; failures = 0; socket.send(JSON.stringify(hello())); };
      socket.onmessage = function (e) {
        var f;
        try { f = JSON.parse(e.data); } catch (err) { return; }
        // A fatal error is followed by the close; it is reported once, with the close.
        if (f.type === 'error' && f.fatal) { lastError = f; return; }
        onFrame(f);
      };
      socket.onclose = function (e) {
        S.ready = false;
        if (closed) return;
        if (REFUSED[e.code]) {
          var f = lastError || { code: 'refused', message: 'the server refused the connection (' + e.code + ')' };
          return refused({ code: f.code, message: f.message });
        }
        if (!opened) failures++;
        else { failInFlight(); showError('Connection lost. Reconnecting...'); }
        // Never got through: websockets are blocked here, use HTTP instead.
        if (!everOpened && failures >= 2) return fallback();
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 5000);
      };
    }
    function fallback() {
      closed = true;
      S.transport = httpTransport();
      S.transport.start();
    }
    return {
      name: 'websocket',
      start: connect,
      send: function (frame) { socket.send(JSON.stringify(frame)); },
      stop: function () { closed = true; if (socket) socket.close(); }
    };
  }

  function httpTransport() {
    var base = S.hostUrl + '/webchat/' + encodeURIComponent(S.botId) + '/api/';
    var stopped = false, generation = 0, delay = 1000;
    function post(path, body) {
      return fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
        });
    }
    function begin() {
      post('session', hello()).then(function (r) {
        if (!r.ok) {
          if (r.status === 401 || r.status === 403 || r.status === 404) return refused({ code: r.data.code, message: r.data.message });
          throw new Error(r.data.message);
        }
        delay = 1000;
        onFrame(r.data.ready);
        r.data.frames.forEach(onFrame);
        poll(++generation);
      }).catch(function () {
        if (stopped || S.refused) return;
        setTimeout(begin, delay);
        delay = Math.min(delay * 2, 10000);
      });
    }
    // One poll loop per conversation: a restart starts a new generation and the old loop ends.
    function poll(mine) {
      if (stopped || mine !== generation) return;
      var url = base + 'poll?conversationId=' + encodeURIComponent(S.conversationId) + '&after=' + S.seq;
      fetch(url, { headers: { 'X-Webchat-User-Key': S.userKey } }).then(function (response) {
        return response.json().then(function (data) {
          if (mine !== generation) return;
          if (!response.ok) {
            if (response.status === 401 || response.status === 403) return refused({ code: data.code, message: data.message });
            throw new Error(data.message);
          }
          data.frames.forEach(onFrame);
          poll(mine);
        });
      }).catch(function () {
        if (!stopped && !S.refused) setTimeout(function () { poll(mine); }, delay);
      });
    }
    return {
      name: 'http',
      start: begin,
      send: function (frame) {
        post('send', { userKey: S.userKey, conversationId: S.conversationId, after: S.seq, frame: frame }).then(function (r) {
          if (r.status === 401 || r.status === 403) return refused({ code: r.data.code, message: r.data.message });
          onFrame(r.data);
          if (r.data.type === 'conversation') poll(++generation);
        }).catch(function (e) { settle({ clientId: frame.clientId }, { code: 'network', message: e.message }); });
      },
      stop: function () { stopped = true; }
    };
  }

  function connect() {
    if (S.transport) S.transport.stop();
    var wanted = S.options.transport || 'auto';
    S.transport = wanted === 'http' || !window.WebSocket ? httpTransport() : websocketTransport();
    S.transport.start();
  }

  // ---- the public API --------------------------------------------------------------------
  function setOpened(opened) {
    if (!S.ui || S.opened === opened) return;
    S.opened = opened;
    api.state = opened ? 'opened' : 'closed';
    S.ui.win.hidden = !opened;
    S.ui.fab.setAttribute('aria-label', opened ? 'Close the chat' : 'Open the chat');
    if (opened) {
      scrollDown();
      try { S.ui.input.focus({ preventScroll: true }); } catch (e) { /* old browsers */ }
      if (S.ready) startConversation();
    }
    emit(opened ? 'webchat:opened' : 'webchat:closed', {});
  }

  function requireInit(name) {
    if (!S.ui) throw new Error('botpress.' + name + '() needs botpress.init() first');
  }

  var api = {
    __flowstudio: true,
    version: VERSION,
    initialized: false,
    state: 'closed',
    configuration: S.configuration,
    user: null,
    conversationId: null,
    init: function (options) {
      options = options || {};
      var page = window.botpressSettings || {};
      if (S.ui) { api.config(options); return; }
      if (!options.botId) throw new Error('botpress.init() needs a botId');
      S.botId = String(options.botId);
      S.hostUrl = String(options.hostUrl || (script && new URL(script.src, location.href).origin) || location.origin).replace(/\/+$/, '');
      S.options = assign({}, options, page.options);
      S.options.user = page.user || options.user;
      S.options.identity = page.identity || options.identity;
      S.configuration = assign(S.configuration, options.configuration, page.configuration);
      api.configuration = S.configuration;
      api.botId = S.botId;
      api.hostUrl = S.hostUrl;
      buildUi();
      api.initialized = true;
      emit('webchat:initialized', {});
      connect();
      if (S.options.fullscreen || S.options.preview) setOpened(true);
    },
    config: function (options) {
      options = options || {};
      var storage = S.configuration.storageLocation;
      assign(S.configuration, options.configuration);
      applyConfiguration();
      if (options.user) api.updateUser(options.user).catch(function () {});
      if (S.ui && storage !== S.configuration.storageLocation) save();
    },
    open: function () { requireInit('open'); setOpened(true); },
    close: function () { requireInit('close'); setOpened(false); },
    toggle: function () { requireInit('toggle'); setOpened(!S.opened); },
    sendMessage: function (text) {
      requireInit('sendMessage');
      if (typeof text !== 'string' || !text.trim()) return Promise.reject(new Error('sendMessage() needs a non-empty text'));
      return reply({ type: 'text', text: text });
    },
    sendEvent: function (payload) {
      requireInit('sendEvent');
      if (!payload || typeof payload !== 'object') return Promise.reject(new Error('sendEvent() needs an object'));
      return request({ type: 'event', payload: payload }).then(function (ack) { return { seq: ack.eventSeq }; });
    },
    sendFile: function (file) { requireInit('sendFile'); return sendFile(file); },
    getUser: function () {
      requireInit('getUser');
      return whenReady().then(function () { return S.user; });
    },
    updateUser: function (fields) {
      requireInit('updateUser');
      return request({ type: 'user', user: fields || {} }).then(function (r) {
        S.user = r.user;
        api.user = r.user;
        return r.user;
      });
    },
    stopAnswer: function () {
      requireInit('stopAnswer');
      S.stopping = true;
      dropStreams();
      return request({ type: 'cancel' }).then(function (r) { return { eventSeq: r.eventSeq }; });
    },
    restartConversation: function () {
      requireInit('restartConversation');
      return request({ type: 'restart' }).then(function (r) { return r.conversationId; });
    },
    on: function (name, handler) {
      (listeners[name] = listeners[name] || []).push(handler);
      return function () {
        var list = listeners[name] || [];
        var at = list.indexOf(handler);
        if (at >= 0) list.splice(at, 1);
      };
    }
  };
  window.botpress = api;

  // config.js may have run first, or the page used the one-script form with data attributes.
  if (window.botpressConfig) api.init(window.botpressConfig);
  else if (script && script.getAttribute('data-bot-id')) {
    var host = script.getAttribute('data-host') || new URL(script.src, location.href).origin;
    var loader = document.createElement('script');
    loader.src = host.replace(/\/+$/, '') + '/webchat/' + encodeURIComponent(script.getAttribute('data-bot-id')) + '/config.js';
    loader.async = true;
    document.head.appendChild(loader);
  }
})();
