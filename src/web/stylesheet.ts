import { createHash } from 'node:crypto';

/**
 * The pages' one stylesheet, served as a file (the Content-Security-Policy allows styles from
 * this server only, never inline). Plain and readable; dark when the system asks for it.
 */
export const STYLESHEET = `
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #5f6670; --line: #d8dde3; --panel: #f6f8fa; --link: #0b5cad;
  --add-bg: #e6f6ea; --add-num: #c9ecd3; --del-bg: #fbe9eb; --del-num: #f5cdd2; --hunk-bg: #eef3fb;
  --ok: #1a7f37; --bad: #c62828; --run: #0b5cad; --wait: #9a6700; --off: #6e7781; --note-bg: #fff8e1;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16191d; --fg: #e4e6e9; --muted: #9aa3ad; --line: #343a42; --panel: #1e2227; --link: #7db4ff;
    --add-bg: #15321f; --add-num: #1c4429; --del-bg: #3a1a1e; --del-num: #4d2227; --hunk-bg: #1d2633;
    --ok: #4ac26b; --bad: #ff7b72; --run: #7db4ff; --wait: #d29922; --off: #8b949e; --note-bg: #2d2a1e;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .sha, .code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 13px; }
header.top { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; color: var(--fg); }
header.top .spacer { flex: 1; }
header.top form { margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
h1 { font-size: 1.5rem; margin: .4rem 0 .8rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
.crumbs { color: var(--muted); margin-bottom: .3rem; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.tabs { display: flex; gap: 1rem; border-bottom: 1px solid var(--line); margin-bottom: 1rem; padding-bottom: .4rem; }
.badge { display: inline-block; padding: 0 .45rem; border: 1px solid var(--line); border-radius: 999px; font-size: 12px; color: var(--muted); }
table.list { width: 100%; border-collapse: collapse; }
table.list th, table.list td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.list td .target-url, table.list td .unsafe-url, table.list td code { overflow-wrap: anywhere; }
table.list td.wrap { overflow-wrap: anywhere; min-width: 8em; }
table.list th { font-weight: 600; color: var(--muted); font-size: 13px; }
ul.commits { list-style: none; margin: 0 0 1rem; padding: 0; border: 1px solid var(--line); border-radius: 6px; }
ul.commits li { display: flex; gap: .8rem; padding: .55rem .8rem; border-top: 1px solid var(--line); align-items: baseline; }
ul.commits li:first-child { border-top: 0; }
ul.commits .title { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.day { font-weight: 600; margin: 1rem 0 .4rem; }
.status { display: inline-block; min-width: 1.4em; text-align: center; font-weight: 700; }
.status-success { color: var(--ok); } .status-failed { color: var(--bad); } .status-running { color: var(--run); }
.status-pending, .status-created { color: var(--wait); } .status-canceled, .status-skipped, .status-none { color: var(--off); }
pre.message { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .7rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
details.file { border: 1px solid var(--line); border-radius: 6px; margin: .8rem 0; }
details.file > summary { padding: .5rem .7rem; background: var(--panel); cursor: pointer; overflow-wrap: anywhere; }
details.file > .notice { padding: .7rem; color: var(--muted); }
table.diff { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.diff td { padding: 0 .5rem; vertical-align: top; }
table.diff td.num { width: 4.5em; text-align: right; color: var(--muted); user-select: none; }
table.diff td.code { white-space: pre-wrap; overflow-wrap: anywhere; }
table.diff tr.add td { background: var(--add-bg); } table.diff tr.add td.num { background: var(--add-num); }
table.diff tr.del td { background: var(--del-bg); } table.diff tr.del td.num { background: var(--del-num); }
table.diff tr.hunk td { background: var(--hunk-bg); color: var(--muted); }
table.diff tr.note td { background: var(--note-bg); padding: .4rem .6rem; }
.note { border-left: 3px solid var(--wait); padding: .3rem .6rem; margin: .4rem 0; background: var(--note-bg); }
.note .body { white-space: pre-wrap; overflow-wrap: anywhere; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
form.inline { display: inline; }
input[type=text], input[type=password], input[type=search], select { background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 4px; padding: .3rem .5rem; font: inherit; }
button { background: var(--panel); color: var(--fg); border: 1px solid var(--line); border-radius: 4px; padding: .3rem .8rem; font: inherit; cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
.error { color: var(--bad); }
.filters { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin: .5rem 0 1rem; }
`;

/** The stylesheet's URL: its content hash in the name, so it can be cached for good. */
export const STYLESHEET_PATH = `/-/assets/fakelab-${createHash('sha256').update(STYLESHEET).digest('hex').slice(0, 12)}.css`;
