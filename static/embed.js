/* npsd embeddable NPS widget.
   <script src="https://nps.example/embed.js" data-survey="SLUG" async></script>
   Optional: data-email, data-customer-id, data-name, data-properties (JSON object), data-locale,
   data-signature, data-target (CSS selector: render inline there instead of the corner card),
   data-send-query="true" (send the page's address with its query string; without it, only the
   address up to the path is sent). */
(function () {
  'use strict';

  // The server substitutes its shared scale stylesheet (templates/web/scale.css) for the placeholder
  // comment below, so the response page, the iframe form and this widget draw the same 0-10 scale.
  // A template literal because that stylesheet has newlines and double quotes (no backticks).
  var SCALE_CSS = `/*@SCALE_CSS@*/`;

  var CSS =
    ':host{all:initial;display:block;width:100%;container:npsd/inline-size}' +
    '*,*::before,*::after{box-sizing:border-box}' +
    SCALE_CSS +
    '.card{all:initial;display:block;box-sizing:border-box;--line:#a1a1aa;position:relative;margin:0;padding:16px;background:#fff;color:#18181b;' +
    'border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.14);' +
    'font:400 16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;text-align:left}' +
    // The corner card on a 320 px phone is 304 px wide: 10 px padding leaves the scale its one row.
    '@container npsd (max-width:360px){.card{padding:12px}}@container npsd (max-width:304px){.card{padding:10px}}' +
    '.corner{max-height:calc(100vh - 32px);overflow:auto}' +
    '.corner .brand,.corner .status,.corner .step>:first-child{margin-right:36px}' +
    '.brand{margin:0 0 4px;font-size:13px;font-weight:700;color:#52525b}' +
    '.title{margin:0 0 12px;font-size:17px;font-weight:700;line-height:1.35}' +
    'p{margin:0 0 8px}' +
    '.status{font-weight:700}.status:empty{margin:0}' +
    '.label{display:block;margin:0 0 6px;font-weight:700}' +
    'textarea{display:block;width:100%;margin:0 0 12px;padding:8px 10px;border:2px solid var(--line);' +
    'border-radius:8px;background:#fff;color:inherit;font:inherit;resize:vertical}' +
    'textarea::placeholder{color:#71717a}' +
    ':focus-visible,textarea:focus-visible{outline:3px solid #18181b;outline-offset:2px}' +
    '[tabindex="-1"]:focus{outline:none}' +
    '.button{display:inline-flex;align-items:center;justify-content:center;min-height:44px;padding:0 20px;' +
    'border:0;border-radius:8px;background:var(--accent);color:var(--on-accent);font:inherit;font-weight:700;cursor:pointer}' +
    '.button:hover{filter:brightness(.92)}' +
    '.alert{margin:12px 0 0;padding:8px 12px;border:1px solid #fecaca;border-radius:8px;background:#fef2f2;color:#991b1b}' +
    'a{color:inherit;text-decoration:underline}' +
    '.close{position:absolute;top:6px;right:6px;display:flex;align-items:center;justify-content:center;' +
    'width:36px;height:36px;margin:0;padding:0;border:0;border-radius:8px;background:transparent;' +
    'color:#52525b;font:400 24px/1 system-ui,sans-serif;cursor:pointer}' +
    '.close:hover{background:#f4f4f5;color:#18181b}' +
    // The honeypot: off-screen for people, still in the form for naive bots.
    '.hp{position:absolute;left:-10000px;top:0;width:1px;height:1px;overflow:hidden}' +
    '@media (prefers-reduced-motion:no-preference){.corner{animation:npsd-in .3s ease-out}}' +
    '@media (prefers-reduced-motion:reduce){*{transition:none!important}}' +
    '@keyframes npsd-in{from{opacity:0;transform:translateY(24px)}}';

  // One shared registry even when the script is included twice (two widgets on one page).
  var g = window.npsd;
  if (!g || !Array.isArray(g.widgets)) g = window.npsd = { version: '1', widgets: [] };

  var count = 0;
  var memoryVisitor = null;
  var DAY_MS = 864e5;

  // localStorage may throw (blocked storage, sandboxed iframes): the widget then simply forgets.
  function get(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function set(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* memory only */ }
  }
  function isSuppressed(what, slug) {
    return Number(get('npsd:' + what + ':' + slug)) > Date.now();
  }
  function suppress(what, slug, days) {
    set('npsd:' + what + ':' + slug, String(Date.now() + days * DAY_MS));
  }

  function visitorId() {
    var id = get('npsd:visitor');
    if (!/^[0-9a-f]{32}$/.test(id || '')) {
      id = memoryVisitor || Array.from(crypto.getRandomValues(new Uint8Array(16)), function (b) {
        return b.toString(16).padStart(2, '0');
      }).join('');
      memoryVisitor = id;
      set('npsd:visitor', id);
    }
    return id;
  }

  // createElement + text nodes only: every string from the server or the page is treated as text.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    for (var k in attrs) if (attrs[k] != null) node.setAttribute(k, attrs[k]);
    node.append.apply(node, Array.prototype.slice.call(arguments, 2));
    return node;
  }

  // The page's address as the answer records it. Query strings carry tokens, order numbers, search
  // terms and email addresses, so they stay on the page unless the shop opts in; the fragment
  // never leaves.
  function pageUrl(sendQuery) {
    var url = new URL(location.href);
    if (!sendQuery) url.search = '';
    url.hash = '';
    return url.href;
  }

  function domReady() {
    return new Promise(function (resolve) {
      if (document.readyState !== 'loading') resolve();
      else document.addEventListener('DOMContentLoaded', resolve, { once: true });
    });
  }

  // Optional visitor fields from the script tag; absent or empty attributes are left out.
  function readFields(data) {
    var fields = {};
    [['email', 'email'], ['customerId', 'customer_id'], ['name', 'name'], ['signature', 'signature']]
      .forEach(function (pair) { if (data[pair[0]]) fields[pair[1]] = data[pair[0]]; });
    if (data.properties) {
      try {
        var p = JSON.parse(data.properties);
        if (!p || typeof p !== 'object' || Array.isArray(p)) throw new TypeError('not an object');
        fields.properties = p;
      } catch (e) {
        console.warn('npsd: data-properties is not a JSON object and is ignored: ' + data.properties);
      }
    }
    return fields;
  }

  // Resolves to the survey config, or null after one console line saying why nothing is shown.
  async function loadConfig(o) {
    var status = 0, message = '';
    try {
      var res = await fetch(o.api + (o.locale ? '?locale=' + encodeURIComponent(o.locale) : ''),
        { mode: 'cors', credentials: 'omit' });
      status = res.status;
      var body = await res.json().catch(function () { return null; });
      if (status === 200 && body && body.text) return body;
      if (body && body.error && body.error.message) message = String(body.error.message);
    } catch (e) { /* network error or CORS refusal: the response is unreadable by design */ }
    console.warn('npsd: survey "' + o.slug + '" is not available on ' + location.origin +
      (message ? ': ' + message + ' (HTTP ' + status + ')'
        : ' \u2014 add this origin to the survey\'s allowed_origins (or check embed_enabled and that ' +
          o.base + ' is reachable)'));
    return null;
  }

  async function start(script) {
    var data = script.dataset;
    var slug = data.survey;
    if (!slug) return;
    var base = script.src.replace(/[?#].*$/, '').replace(/\/embed\.js$/, '');
    var o = {
      slug: slug,
      base: base,
      api: base + '/api/v1/embed/' + encodeURIComponent(slug),
      locale: data.locale,
      fields: readFields(data),
      sendQuery: data.sendQuery === 'true',
      target: null
    };

    await domReady(); // an async script in <head> may run before its target element exists
    if (data.target) {
      try { o.target = document.querySelector(data.target); } catch (e) { /* invalid selector */ }
      if (!o.target) {
        console.warn('npsd: data-target "' + data.target + '" matches no element; survey "' + slug + '" is not shown');
        return;
      }
    } else if (isSuppressed('dismissed', slug) || isSuppressed('answered', slug)) {
      return; // corner card closed or answered recently: not even a config request
    }

    var cfg = await loadConfig(o);
    if (cfg) render(o, cfg);
  }

  function render(o, cfg) {
    var corner = !o.target;
    var n = ++count;
    var text = cfg.text || {};
    var t = function (key) { return text[key] == null ? '' : String(text[key]); };
    var color = function (c, fallback) { return /^#[0-9a-fA-F]{6}$/.test(c) ? c : fallback; };
    var days = Math.max(0, Number(cfg.throttle_days) || 0);
    var qid = 'npsd' + n + '-q';
    var busy = false, answer = null, alertEl = null;

    var host = el('div', { 'data-npsd-widget': o.slug });
    // Page rules beat :host rules, so the host's box is also reset inline (through the CSSOM, which a
    // style-src CSP allows): a page's `div { padding: 40px }` must not reach it. Inherited
    // properties are cut off by `.card { all: initial }`.
    host.style.cssText = 'display:block;box-sizing:border-box;width:100%;margin:0;padding:0;border:0;' +
      'container:npsd/inline-size' + (corner
      ? ';position:fixed;z-index:2147483000;bottom:16px;right:clamp(8px,(100vw - 400px) / 2,16px);' +
        'width:min(400px,100vw - 16px)'
      : '');
    var root = host.attachShadow({ mode: 'open' });
    var widget = { survey: o.slug, element: host };

    var card = el('section', {
      class: corner ? 'card corner' : 'card',
      lang: cfg.locale || null,
      'aria-label': (cfg.brand ? cfg.brand + ' ' : '') + 'survey'
    });
    card.style.setProperty('--accent', color(cfg.accent_color, '#2563eb'));
    card.style.setProperty('--on-accent', color(cfg.on_accent_color, '#ffffff'));

    var status = el('p', { class: 'status', 'aria-live': 'polite' });
    var step = el('div', { class: 'step' });
    var honeypot = el('input', { type: 'text', name: 'website', id: 'npsd' + n + '-w', tabindex: '-1', autocomplete: 'off' });

    if (corner) {
      var close = el('button', { type: 'button', class: 'close', 'aria-label': t('close') || 'Close' }, '\u00d7');
      var dismiss = function () {
        suppress('dismissed', o.slug, days);
        host.remove();
        var i = g.widgets.indexOf(widget);
        if (i >= 0) g.widgets.splice(i, 1);
      };
      close.addEventListener('click', dismiss);
      card.addEventListener('keydown', function (e) {
        if (e.key === 'Escape' && !e.isComposing) dismiss();
      });
      card.append(close);
    }
    if (cfg.brand) card.append(el('p', { class: 'brand' }, String(cfg.brand)));
    card.append(status, step, el('div', { class: 'hp', 'aria-hidden': 'true' },
      el('label', { for: honeypot.id }, 'Website'), honeypot));

    function show() {
      step.replaceChildren.apply(step, arguments);
    }

    // POST/PATCH with one alert on failure; resolves to the response object or null (state is kept
    // so the visitor can simply try again).
    async function send(method, path, body) {
      if (alertEl) alertEl.remove();
      var statusCode = 0;
      try {
        var res = await fetch(o.api + path, {
          method: method, mode: 'cors', credentials: 'omit',
          headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
        });
        statusCode = res.status;
        if (res.ok) {
          var json = await res.json();
          if (json && json.response) return json.response;
        }
      } catch (e) { /* network error, CORS refusal or unreadable body */ }
      alertEl = el('p', { class: 'alert', role: 'alert' }, t(statusCode === 429 ? 'too_many' : 'error'));
      step.append(alertEl);
      return null;
    }

    // Step 1: question and the 0-10 radiogroup (roving tabindex; arrows move focus, never choose).
    function stepScore() {
      var choices = [];
      for (var i = 0; i <= 10; i++) {
        choices.push(el('button', {
          type: 'button', class: 'scale-choice', role: 'radio', 'aria-checked': 'false', tabindex: i ? '-1' : '0',
          'aria-label': i === 0 ? '0, ' + t('not_likely') : i === 10 ? '10, ' + t('very_likely') : null
        }, String(i)));
      }
      var scale = el('div', { class: 'scale', role: 'radiogroup', 'aria-labelledby': qid }, ...choices);
      var rove = function (j) {
        choices.forEach(function (c, k) { c.tabIndex = k === j ? 0 : -1; });
      };

      scale.addEventListener('keydown', function (e) {
        var i = choices.indexOf(e.target);
        var j = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: 10 }[e.key];
        if (i < 0 || j === undefined) return;
        e.preventDefault(); // keep the page from scrolling
        j = Math.max(0, Math.min(10, j));
        rove(j);
        choices[j].focus();
      });
      // Enter and Space arrive here too: they are native button activations.
      scale.addEventListener('click', async function (e) {
        var score = choices.indexOf(e.target);
        if (score < 0 || busy) return;
        choices.forEach(function (c, k) {
          c.setAttribute('aria-checked', String(k === score));
          c.classList.toggle('is-selected', k === score);
        });
        rove(score);
        busy = true;
        var r = await send('POST', '/responses', Object.assign({ score: score }, o.fields, {
          page_url: pageUrl(o.sendQuery), visitor_id: visitorId(), website: honeypot.value
        }));
        busy = false;
        if (!r) return;
        answer = r;
        // The score is the answer (the comment is optional), so the corner card rests from here on.
        if (corner) suppress('answered', o.slug, days);
        stepComment(score);
      });

      show(
        el('h2', { class: 'title', id: qid }, t('question')),
        el('div', { class: 'scale-wrap' }, scale,
          el('div', { class: 'scale-ends', 'aria-hidden': 'true' },
            el('span', {}, t('not_likely')), el('span', {}, t('very_likely'))))
      );
    }

    // Step 2: optional comment, sent with the edit token of the saved response.
    function stepComment(score) {
      status.textContent = t('saved').split('{score}').join(String(score));
      var area = el('textarea', {
        id: 'npsd' + n + '-c', rows: '3', maxlength: '5000', placeholder: t('comment_placeholder') || null
      });
      var button = el('button', { type: 'button', class: 'button' }, t('send'));
      button.addEventListener('click', async function () {
        if (busy) return;
        var comment = area.value.trim();
        if (comment) {
          busy = true;
          var r = await send('PATCH', '/responses/' + encodeURIComponent(answer.id),
            { edit_token: answer.edit_token, comment: comment });
          busy = false;
          if (!r) return;
        }
        stepThanks(score);
      });
      show(el('label', { class: 'label', for: area.id }, t('comment_prompt')), area, el('div', {}, button));
      area.focus();
    }

    // Step 3: thanks by NPS category; detractors also get the reply-to address when there is one.
    function stepThanks(score) {
      status.textContent = '';
      var kind = score <= 6 ? 'detractor' : score <= 8 ? 'passive' : 'promoter';
      var heading = el('h2', { class: 'title', tabindex: '-1' }, t('thanks_title'));
      var nodes = [heading, el('p', {}, t('thanks_' + kind))];
      if (kind === 'detractor' && cfg.reply_to) {
        var mail = String(cfg.reply_to);
        nodes.push(el('p', {}, t('contact') + ' ', el('a', { href: 'mailto:' + mail }, mail)));
      }
      show.apply(null, nodes);
      heading.focus();
    }

    stepScore();
    root.append(el('style', {}, CSS), card);
    (corner ? document.body : o.target).append(host);
    g.widgets.push(widget);
  }

  // document.currentScript is null in some loaders: then take every widget tag not yet claimed.
  // The mark is an attribute (not a WeakSet) so two copies of this file share it.
  var current = document.currentScript;
  var scripts = current && current.hasAttribute('data-survey') ? [current]
    : document.querySelectorAll('script[data-survey][src*="embed.js"]');
  Array.prototype.forEach.call(scripts, function (script) {
    if (script.hasAttribute('data-npsd-loaded')) return;
    script.setAttribute('data-npsd-loaded', '');
    start(script).catch(function (e) { console.warn('npsd: widget failed: ' + e); });
  });
})();
