/* rfq-engine dashboard: bearer token, the tenant's recent RFQs, one RFQ's ranked quotes with
 * live events, and a form to submit an RFQ. Plain JavaScript without dependencies.
 *
 * Rules kept throughout: every value from the API reaches the page through textContent or
 * element properties, never innerHTML; the token lives in sessionStorage and in the
 * Authorization header of same-origin API calls only, never in a URL, never in the console.
 * Live events are read with fetch() streaming (EventSource cannot send the Authorization
 * header), and the SSE frames are parsed here. */
'use strict';

(function () {
    const TOKEN_KEY = 'rfq.dashboard.token';
    const LIST_LIMIT = 50;
    const LIST_EVERY_MS = 2000;
    const CLOCK_EVERY_MS = 250;
    const CURRENCY_LOOKUPS_PER_TICK = 4;
    const STREAM_RETRY_MAX_MS = 10000;
    const TOKEN_MAX = 8192;

    const state = {
        token: null,
        filter: '',
        listTimer: null,
        clockTimer: null,
        listBusy: false,
        gen: 0, /* bumped on every token or filter change: late answers are dropped */
        rows: [], /* last listing */
        currency: new Map(), /* rfq id -> currency (the listing carries none) */
        currencyBusy: new Set(),
        selected: null, /* rfq id shown in the detail pane */
        detail: null, /* last GET /v1/rfqs/<id> answer, updated by events */
        quotes: new Map(), /* responder_id -> {q, arrival, fresh} */
        localSeq: 0, /* arrival order for live quotes, after every stored one */
        stream: null, /* AbortController of the open event stream */
        streamState: 'off',
        streamRetryMs: 1000,
        streamRetryTimer: null,
        banner: null, /* source of the message shown in the banner */
    };

    const $ = (id) => document.getElementById(id);

    /* ---- small DOM helpers (text only) ------------------------------------------------- */

    function el(tag, cls, text) {
        const e = document.createElement(tag);
        if (cls)
            e.className = cls;
        if (text !== undefined && text !== null)
            e.textContent = String(text);
        return e;
    }

    function setText(id, text) {
        $(id).textContent = text === undefined || text === null ? '' : String(text);
    }

    function show(id, visible) {
        $(id).hidden = !visible;
    }

    /* ---- formatting -------------------------------------------------------------------- */

    function pad(n, w) {
        return String(n).padStart(w, '0');
    }

    function clockTime(ms, withMillis) {
        if (typeof ms !== 'number' || !Number.isFinite(ms))
            return '-';
        const d = new Date(ms);
        const t = pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2);
        return withMillis ? t + '.' + pad(d.getMilliseconds(), 3) : t;
    }

    /* Time of day, with the date in front when it is not today (RFQs stay listed for a day). */
    function when(ms) {
        if (typeof ms !== 'number' || !Number.isFinite(ms))
            return '-';
        const d = new Date(ms);
        if (d.toDateString() === new Date().toDateString())
            return clockTime(ms);
        return d.getFullYear() + '-' + pad(d.getMonth() + 1, 2) + '-' + pad(d.getDate(), 2) + ' ' +
            clockTime(ms);
    }

    /* "in 1.4 s", "3.2 s ago", "5 min ago". */
    function relative(ms, now) {
        const d = ms - now;
        const a = Math.abs(d);
        let text;
        if (a < 60000)
            text = (a / 1000).toFixed(1) + ' s';
        else if (a < 3600000)
            text = Math.floor(a / 60000) + ' min';
        else
            text = Math.floor(a / 3600000) + ' h';
        return d >= 0 ? 'in ' + text : text + ' ago';
    }

    function formatEta(s) {
        if (typeof s !== 'number' || !Number.isFinite(s) || s < 0)
            return '-';
        if (s < 60)
            return s + ' s';
        if (s < 3600)
            return Math.floor(s / 60) + ' min ' + pad(s % 60, 2) + ' s';
        return Math.floor(s / 3600) + ' h ' + pad(Math.floor((s % 3600) / 60), 2) + ' min';
    }

    const moneyFormats = new Map();

    /* Minor units and an ISO 4217 code to text in the browser's notation: 4483 GBP is 44.83
     * pounds, 500 JPY is 500 yen. The currency's number of decimals comes from Intl; an
     * unknown code falls back to two. */
    function formatMoney(minor, currency) {
        if (typeof minor !== 'number' || !Number.isFinite(minor))
            return '-';
        let fmt = null;
        if (typeof currency === 'string' && currency) {
            fmt = moneyFormats.get(currency);
            if (fmt === undefined) {
                try {
                    fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: currency });
                } catch (_) {
                    fmt = null;
                }
                moneyFormats.set(currency, fmt);
            }
        }
        const digits = fmt ? fmt.resolvedOptions().maximumFractionDigits : 2;
        const value = minor / Math.pow(10, digits);
        if (fmt)
            return fmt.format(value);
        return value.toFixed(digits) + (currency ? ' ' + currency : '');
    }

    function shortId(id) {
        const s = String(id);
        return s.length > 8 ? s.slice(0, 8) + '\u2026' : s;
    }

    function coords(p) {
        if (!p || typeof p.lat !== 'number' || typeof p.lon !== 'number')
            return '?';
        return Number(p.lat.toFixed(5)) + ', ' + Number(p.lon.toFixed(5));
    }

    /* ---- banner ------------------------------------------------------------------------ */

    function showBanner(source, text, kind) {
        state.banner = source;
        setText('banner-text', text);
        $('banner').className = 'banner ' + (kind || 'error');
        show('banner', true);
    }

    /* Clear the banner when it shows a message from source (or any message: source null). */
    function clearBanner(source) {
        if (source && state.banner !== source)
            return;
        state.banner = null;
        show('banner', false);
    }

    /* ---- API --------------------------------------------------------------------------- */

    class ApiError extends Error {
        constructor(status, code, message) {
            super(message);
            this.status = status;
            this.code = code;
        }
        describe() {
            if (this.status === 0)
                return this.message;
            return 'HTTP ' + this.status + ' ' + (this.code || 'error') + ': ' +
                (this.message || 'no details');
        }
    }

    /* An error from a non-2xx answer: the API's {"error":{"code","message"}} when present. */
    function errorFrom(status, text) {
        let body = null;
        try {
            body = text ? JSON.parse(text) : null;
        } catch (_) {
            body = null;
        }
        const e = body && typeof body === 'object' ? body.error : null;
        if (e && typeof e === 'object')
            return new ApiError(status, String(e.code || ''), String(e.message || ''));
        return new ApiError(status, '', text ? String(text).slice(0, 200) : '');
    }

    function authHeaders(accept) {
        return { 'Authorization': 'Bearer ' + state.token, 'Accept': accept };
    }

    /* One JSON call. Resolves to the parsed body; rejects with an ApiError. */
    async function api(method, path, body) {
        const init = {
            method: method,
            headers: authHeaders('application/json'),
            cache: 'no-store',
            credentials: 'omit',
            referrerPolicy: 'no-referrer',
        };
        if (body !== undefined) {
            init.headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        let resp;
        try {
            resp = await fetch(path, init);
        } catch (err) {
            throw new ApiError(0, 'network', 'cannot reach the API (' + err.message + ')');
        }
        const text = await resp.text();
        if (!resp.ok)
            throw errorFrom(resp.status, text);
        try {
            return text ? JSON.parse(text) : null;
        } catch (_) {
            throw new ApiError(resp.status, 'bad_answer', 'the answer is not JSON');
        }
    }

    /* Show an API failure. A 401 means the token is no good any more: ask for a new one. */
    function apiFailed(err, what) {
        if (err instanceof ApiError && err.status === 401) {
            askToken('The API refused the token (' + (err.message || 'unauthorized') +
                '). Paste a new one.', true);
            return;
        }
        const text = err instanceof ApiError ? err.describe() : String(err && err.message);
        showBanner(what, what + ' failed: ' + text);
    }

    /* ---- token ------------------------------------------------------------------------- */

    /* Accept "<jwt>" or "Bearer <jwt>"; null when it is not a compact JWT. */
    function cleanToken(raw) {
        const t = String(raw || '').trim().replace(/^Bearer\s+/i, '');
        if (t.length === 0 || t.length > TOKEN_MAX)
            return null;
        return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t) ? t : null;
    }

    /* The token's claims, for display only (the server verifies it). null when unreadable. */
    function claims(token) {
        try {
            let b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
            while (b64.length % 4)
                b64 += '=';
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const c = JSON.parse(new TextDecoder().decode(bytes));
            return c && typeof c === 'object' ? c : null;
        } catch (_) {
            return null;
        }
    }

    function showWho() {
        const c = claims(state.token) || {};
        const parts = [];
        parts.push('tenant ' + (typeof c.tenant_id === 'string' ? c.tenant_id : '?'));
        if (typeof c.tier === 'string')
            parts.push('tier ' + c.tier);
        if (typeof c.exp === 'number') {
            const exp = c.exp * 1000;
            parts.push(exp > Date.now() ? 'token expires ' + clockTime(exp) : 'token expired');
        }
        setText('who-text', parts.join(' \u00b7 '));
        show('who', true);
    }

    function useToken(raw) {
        const t = cleanToken(raw);
        if (!t) {
            askToken('That does not look like a token (three base64url parts separated by ' +
                'dots).', true);
            return;
        }
        state.token = t;
        try {
            sessionStorage.setItem(TOKEN_KEY, t);
        } catch (_) {
            /* storage disabled: the token lasts until the page is closed */
        }
        $('token-input').value = '';
        clearBanner(null);
        show('login', false);
        show('app', true);
        showWho();
        start();
    }

    /* Stop everything, drop the token and the tenant's data from the page, show the prompt. */
    function askToken(reason, isError) {
        stop();
        state.token = null;
        try {
            sessionStorage.removeItem(TOKEN_KEY);
        } catch (_) {
            /* nothing stored */
        }
        state.rows = [];
        state.currency.clear();
        $('list-body').replaceChildren();
        selectNone();
        show('app', false);
        show('who', false);
        setText('who-text', '');
        setText('login-reason', reason || '');
        $('login-reason').className = isError ? 'notice error' : 'notice';
        show('login-reason', !!reason);
        show('login', true);
        $('token-input').focus();
    }

    /* ---- polling ----------------------------------------------------------------------- */

    function start() {
        stop();
        state.gen++;
        state.listTimer = setInterval(refreshList, LIST_EVERY_MS);
        state.clockTimer = setInterval(tick, CLOCK_EVERY_MS);
        refreshList();
    }

    function stop() {
        state.gen++;
        clearInterval(state.listTimer);
        clearInterval(state.clockTimer);
        state.listTimer = state.clockTimer = null;
        closeStream();
    }

    async function refreshList() {
        if (!state.token || state.listBusy || document.hidden)
            return;
        state.listBusy = true;
        const gen = state.gen;
        try {
            const q = new URLSearchParams({ limit: String(LIST_LIMIT) });
            if (state.filter)
                q.set('status', state.filter);
            const body = await api('GET', '/v1/rfqs?' + q.toString());
            if (gen !== state.gen)
                return;
            state.rows = body && Array.isArray(body.rfqs) ? body.rfqs : [];
            renderList();
            setText('list-meta', state.rows.length + ' shown (newest first, at most ' + LIST_LIMIT +
                ') \u00b7 updated ' + clockTime(Date.now()) + ' \u00b7 refreshed every 2 s');
            clearBanner('Loading the RFQ list');
            lookUpCurrencies(gen);
            /* Without a live stream the detail pane follows the list's pace. */
            if (state.selected && state.streamState !== 'live' && state.detail &&
                state.detail.status === 'open')
                loadDetail(state.selected);
        } catch (err) {
            if (gen === state.gen)
                apiFailed(err, 'Loading the RFQ list');
        } finally {
            state.listBusy = false;
            /* The filter changed while this answer was on its way: ask again at once. */
            if (gen !== state.gen && state.token && state.listTimer)
                setTimeout(refreshList, 0);
        }
    }

    /* The listing has best_amount_minor without a currency: read it once per RFQ from the RFQ
     * itself (it never changes), a few per tick. */
    function lookUpCurrencies(gen) {
        let n = 0;
        for (const r of state.rows) {
            if (n >= CURRENCY_LOOKUPS_PER_TICK)
                break;
            const id = r.rfq_id;
            if (typeof r.best_amount_minor !== 'number' || state.currency.has(id) ||
                state.currencyBusy.has(id))
                continue;
            n++;
            state.currencyBusy.add(id);
            api('GET', '/v1/rfqs/' + encodeURIComponent(id))
                .then((rfq) => {
                    if (gen !== state.gen)
                        return;
                    state.currency.set(id, rfq && rfq.request ? rfq.request.currency : '');
                    renderList();
                })
                .catch(() => {
                    /* gone (retention) or a blip: the row keeps its plain number */
                })
                .finally(() => state.currencyBusy.delete(id));
        }
    }

    function renderList() {
        const body = $('list-body');
        const rows = [];
        for (const r of state.rows) {
            const tr = el('tr', r.rfq_id === state.selected ? 'selected' : '');
            const idCell = el('td', 'mono');
            const b = el('button', 'link', shortId(r.rfq_id));
            b.type = 'button';
            b.title = String(r.rfq_id);
            idCell.append(b);
            tr.append(idCell);
            const st = el('td');
            st.append(el('span', 'badge ' + statusClass(r.status), r.status));
            tr.append(st);
            tr.append(el('td', 'mono', when(r.created_ms)));
            tr.append(el('td', 'num', r.quote_count));
            const cur = state.currency.get(r.rfq_id);
            let best = '-';
            if (typeof r.best_amount_minor === 'number')
                best = cur !== undefined ? formatMoney(r.best_amount_minor, cur)
                                         : String(r.best_amount_minor) + ' (minor)';
            tr.append(el('td', 'num', best));
            tr.addEventListener('click', () => select(String(r.rfq_id)));
            rows.push(tr);
        }
        body.replaceChildren(...rows);
        show('list-empty', state.rows.length === 0);
        setText('list-empty', state.filter ? 'No ' + state.filter + ' RFQs.'
                                            : 'No RFQs yet for this tenant.');
    }

    function statusClass(s) {
        return s === 'open' || s === 'completed' || s === 'expired' ? 's-' + s : 's-other';
    }

    /* ---- detail ------------------------------------------------------------------------ */

    function selectNone() {
        closeStream();
        state.selected = null;
        state.detail = null;
        state.quotes.clear();
        setText('d-id', '');
        show('d-body', false);
        show('d-none', true);
        setLive('off');
    }

    function select(id) {
        if (id === state.selected && state.detail)
            return;
        selectNone();
        state.selected = id;
        setText('d-id', id);
        show('d-none', false);
        for (const tr of $('list-body').children)
            tr.classList.toggle('selected', tr.querySelector('button').title === id);
        loadDetail(id).then(() => {
            if (state.selected === id)
                openStream(id);
        });
    }

    /* Read the RFQ and its ranked quotes (the authoritative state; events add to it). */
    async function loadDetail(id) {
        const gen = state.gen;
        try {
            const base = '/v1/rfqs/' + encodeURIComponent(id);
            const [rfq, ranked] = await Promise.all([api('GET', base), api('GET', base + '/quotes')]);
            if (gen !== state.gen || state.selected !== id)
                return;
            state.detail = rfq;
            if (rfq && rfq.request)
                state.currency.set(id, rfq.request.currency);
            const quotes = ranked && Array.isArray(ranked.quotes) ? ranked.quotes : [];
            for (const q of quotes) {
                const old = state.quotes.get(q.responder_id);
                state.quotes.set(q.responder_id,
                                 { q: q, arrival: q.arrival, fresh: old ? old.fresh : false });
            }
            clearBanner('Loading the RFQ');
            renderDetail();
        } catch (err) {
            if (gen !== state.gen || state.selected !== id)
                return;
            if (err instanceof ApiError && err.status === 404) {
                selectNone();
                showBanner('Loading the RFQ', 'RFQ ' + id + ' is not there (unknown, another ' +
                    'tenant\'s, or past its retention).');
                return;
            }
            apiFailed(err, 'Loading the RFQ');
        }
    }

    function rankedQuotes() {
        const all = Array.from(state.quotes.values());
        const amount = (e) => (e.q.price && typeof e.q.price.amount_minor === 'number'
                                   ? e.q.price.amount_minor : Infinity);
        const eta = (e) => (typeof e.q.eta_s === 'number' ? e.q.eta_s : Infinity);
        all.sort((a, b) => amount(a) - amount(b) || eta(a) - eta(b) || a.arrival - b.arrival);
        return all;
    }

    function renderDetail() {
        const d = state.detail;
        if (!d)
            return;
        show('d-body', true);
        const badge = $('d-status');
        badge.className = 'badge ' + statusClass(d.status);
        badge.textContent = String(d.status);
        const req = d.request || {};
        const count = Math.max(Number(d.quote_count) || 0, state.quotes.size);
        setText('d-count', count + ' of ' + (d.max_quotes !== undefined ? d.max_quotes : '?'));
        setText('d-declines', d.declines !== undefined ? d.declines : '-');
        setText('d-route', coords(req.pickup) + ' \u2192 ' + coords(req.dropoff) +
            (req.region ? '  (' + req.region + ')' : ''));
        const bits = [];
        if (req.passengers !== undefined)
            bits.push(req.passengers + (req.passengers === 1 ? ' passenger' : ' passengers'));
        if (Array.isArray(req.wants) && req.wants.length)
            bits.push('wants ' + req.wants.join(', '));
        if (req.currency)
            bits.push(String(req.currency));
        bits.push('created ' + when(d.created_ms));
        setText('d-request', bits.join(' \u00b7 '));
        tick();

        const ranked = rankedQuotes();
        const best = $('d-best');
        best.replaceChildren();
        if (ranked.length) {
            const q = ranked[0].q;
            best.append(el('strong', 'price', formatMoney(q.price.amount_minor, q.price.currency)));
            best.append(document.createTextNode(' from '));
            best.append(el('span', 'mono', q.responder_id));
            best.append(document.createTextNode(', ETA ' + formatEta(q.eta_s)));
        } else {
            best.append(el('span', 'muted', d.status === 'open' ? 'none yet' : 'no quote arrived'));
        }

        const rows = ranked.map((e, i) => {
            const q = e.q;
            const tr = el('tr', e.fresh ? 'fresh' : '');
            e.fresh = false;
            tr.append(el('td', 'num', i + 1));
            tr.append(el('td', 'mono', q.responder_id));
            tr.append(el('td', 'num',
                         q.price ? formatMoney(q.price.amount_minor, q.price.currency) : '-'));
            tr.append(el('td', 'num', formatEta(q.eta_s)));
            const perks = el('td', 'perks');
            for (const p of Array.isArray(q.perks) ? q.perks : [])
                perks.append(el('span', 'chip', p));
            tr.append(perks);
            return tr;
        });
        $('q-body').replaceChildren(...rows);
        show('q-empty', rows.length === 0);
        setText('q-empty', d.status === 'open' ? 'No quotes yet: waiting for the unicorns.'
                                               : 'No quote arrived before the RFQ closed.');
    }

    /* Clock: the deadline's countdown. */
    function tick() {
        const d = state.detail;
        if (!d)
            return;
        const now = Date.now();
        let text = clockTime(d.deadline_ms, true);
        if (typeof d.closed_ms === 'number')
            text += ' \u00b7 closed ' + clockTime(d.closed_ms, true);
        else if (typeof d.deadline_ms === 'number')
            text += ' (' + relative(d.deadline_ms, now) + ')';
        setText('d-deadline', text);
    }

    /* ---- live events ------------------------------------------------------------------- */

    function setLive(s) {
        state.streamState = s;
        const labels = {
            connecting: 'connecting\u2026',
            live: 'live',
            reconnecting: 'reconnecting\u2026',
            closed: 'final state',
        };
        const e = $('d-live');
        e.className = 'live st-' + s;
        e.textContent = labels[s] || '';
        e.hidden = !labels[s];
    }

    function closeStream() {
        clearTimeout(state.streamRetryTimer);
        state.streamRetryTimer = null;
        if (state.stream)
            state.stream.abort();
        state.stream = null;
    }

    /* SSE frames from text chunks: lines end in LF, CRLF or CR; "event:" names the event,
     * "data:" lines join with LF; a blank line dispatches; ":" lines are comments (pings). */
    function sseParser(dispatch) {
        let buf = '';
        let event = '';
        let data = [];
        function line(l) {
            if (l === '') {
                if (data.length)
                    dispatch(event || 'message', data.join('\n'));
                event = '';
                data = [];
                return;
            }
            if (l[0] === ':')
                return;
            const i = l.indexOf(':');
            const field = i < 0 ? l : l.slice(0, i);
            let value = i < 0 ? '' : l.slice(i + 1);
            if (value[0] === ' ')
                value = value.slice(1);
            if (field === 'event')
                event = value;
            else if (field === 'data')
                data.push(value);
        }
        return function push(chunk) {
            buf += chunk;
            for (;;) {
                const m = /\r\n|\n|\r/.exec(buf);
                if (!m)
                    break;
                /* A CR at the very end may be the first half of a CRLF: wait for more. */
                if (m[0] === '\r' && m.index === buf.length - 1)
                    break;
                line(buf.slice(0, m.index));
                buf = buf.slice(m.index + m[0].length);
            }
        };
    }

    /* Follow /v1/rfqs/<id>/events until the final event; reconnect (with back-off) when the
     * stream breaks while the RFQ is open. The server replays stored quotes first, so a
     * reconnect loses nothing; quotes are keyed by responder, so replays are harmless. */
    async function openStream(id) {
        closeStream();
        const ctl = new AbortController();
        state.stream = ctl;
        setLive('connecting');
        let final = false;
        try {
            let resp;
            try {
                resp = await fetch('/v1/rfqs/' + encodeURIComponent(id) + '/events', {
                    headers: authHeaders('text/event-stream'),
                    cache: 'no-store',
                    credentials: 'omit',
                    referrerPolicy: 'no-referrer',
                    signal: ctl.signal,
                });
            } catch (err) {
                throw new ApiError(0, 'network', 'event stream: ' + err.message);
            }
            if (!resp.ok)
                throw errorFrom(resp.status, await resp.text());
            if (!resp.body)
                throw new ApiError(0, 'stream', 'this browser cannot read streamed answers');
            setLive('live');
            const push = sseParser((name, data) => {
                if (onEvent(id, name, data))
                    final = true;
            });
            const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
            for (;;) {
                const { value, done } = await reader.read();
                if (done)
                    break;
                push(value);
            }
        } catch (err) {
            if (ctl.signal.aborted)
                return;
            if (err instanceof ApiError && err.status !== 0 && err.status < 500) {
                apiFailed(err, 'Following the RFQ');
                if (state.stream === ctl)
                    setLive('off');
                return;
            }
        }
        if (ctl.signal.aborted || state.stream !== ctl)
            return;
        if (final) {
            setLive('closed');
            state.stream = null;
            return;
        }
        setLive('reconnecting');
        const wait = state.streamRetryMs;
        state.streamRetryMs = Math.min(wait * 2, STREAM_RETRY_MAX_MS);
        state.streamRetryTimer = setTimeout(() => {
            if (state.stream === ctl && state.selected === id)
                openStream(id);
        }, wait);
    }

    /* One event of the selected RFQ's stream. Returns true for the final event. */
    function onEvent(id, name, data) {
        if (state.selected !== id || !state.detail)
            return false;
        let ev;
        try {
            ev = JSON.parse(data);
        } catch (_) {
            return false;
        }
        if (!ev || typeof ev !== 'object' || ev.rfq_id !== id)
            return false;
        state.streamRetryMs = 1000;
        const d = state.detail;
        if (typeof ev.count === 'number')
            d.quote_count = Math.max(Number(d.quote_count) || 0, ev.count);
        if (name === 'quote' && ev.quote && typeof ev.quote.responder_id === 'string') {
            if (!state.quotes.has(ev.quote.responder_id)) {
                /* Live quotes have no stream sequence: they rank after the stored ones, in
                 * the order they arrive. */
                state.quotes.set(ev.quote.responder_id,
                                 { q: ev.quote, arrival: 1e15 + state.localSeq++, fresh: true });
            }
            renderDetail();
            return false;
        }
        if (name === 'completed' || name === 'expired') {
            d.status = typeof ev.status === 'string' ? ev.status : name;
            renderDetail();
            loadDetail(id); /* closed_ms, declines and the ranking with arrival order */
            refreshList();
            return true;
        }
        return false;
    }

    /* ---- new RFQ ----------------------------------------------------------------------- */

    /* "51.5308, -0.1238" -> {lat, lon}; null when not two numbers. */
    function parsePoint(text) {
        const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
        return m ? { lat: Number(m[1]), lon: Number(m[2]) } : null;
    }

    async function submitRfq(ev) {
        ev.preventDefault();
        const pickup = parsePoint($('f-pickup').value);
        const dropoff = parsePoint($('f-dropoff').value);
        if (!pickup || !dropoff) {
            showBanner('Submitting the RFQ', 'Pickup and dropoff are "latitude, longitude", ' +
                'e.g. 51.5308, -0.1238.');
            return;
        }
        const body = {
            region: $('f-region').value.trim(),
            pickup: pickup,
            dropoff: dropoff,
            passengers: Number($('f-passengers').value),
            max_quotes: Number($('f-max').value),
            timeout_ms: Number($('f-timeout').value),
        };
        const button = $('f-submit');
        button.disabled = true;
        setText('f-status', 'submitting\u2026');
        try {
            const r = await api('POST', '/v1/rfqs', body);
            clearBanner('Submitting the RFQ');
            setText('f-status', 'accepted: ' + shortId(r.rfq_id));
            refreshList();
            select(String(r.rfq_id));
        } catch (err) {
            setText('f-status', '');
            apiFailed(err, 'Submitting the RFQ');
        } finally {
            button.disabled = false;
        }
    }

    /* ---- wiring ------------------------------------------------------------------------ */

    function init() {
        $('token-form').addEventListener('submit', (ev) => {
            ev.preventDefault();
            useToken($('token-input').value);
        });
        /* Enter in the token box uses the token (Shift+Enter still adds a line). */
        $('token-input').addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && !ev.shiftKey) {
                ev.preventDefault();
                useToken($('token-input').value);
            }
        });
        $('forget').addEventListener('click', () => askToken('Token forgotten.'));
        $('banner-close').addEventListener('click', () => clearBanner(null));
        $('rfq-form').addEventListener('submit', submitRfq);
        $('filter').addEventListener('change', () => {
            state.filter = $('filter').value;
            state.gen++;
            state.rows = [];
            renderList();
            refreshList();
        });
        document.addEventListener('visibilitychange', () => {
            if (!document.hidden)
                refreshList();
        });
        let saved = null;
        try {
            saved = sessionStorage.getItem(TOKEN_KEY);
        } catch (_) {
            saved = null;
        }
        if (saved && cleanToken(saved))
            useToken(saved);
        else
            askToken('');
    }

    init();
})();
