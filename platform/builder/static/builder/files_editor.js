// The files editor's code editor: CodeMirror 6 (vendored, one ES module) replaces the plain
// textarea, which stays in the form and receives the text on every change, so saving is the
// same POST as without JavaScript. The editor lives in a shadow root: CodeMirror then puts its
// styles into constructed style sheets (adoptedStyleSheets), which the builder's CSP
// (style-src 'self', no nonces) allows, where a <style> element would be refused.
import {
  EditorView, EditorState, EditorSelection, basicSetup, yaml, setDiagnostics, lintGutter,
} from "./vendor/codemirror.js";

const host = document.getElementById("file-editor");
const textarea = document.getElementById("file-text");

function problems(state) {
  const items = document.querySelectorAll("#file-problems li[data-line]");
  const out = [];
  items.forEach((li) => {
    const number = Number(li.dataset.line);
    if (!number || number > state.doc.lines) { return; }
    const line = state.doc.line(number);
    out.push({
      from: line.from,
      to: line.to,
      severity: li.dataset.severity === "warning" ? "warning" : "error",
      message: li.dataset.message || "",
    });
  });
  return out;
}

function goToLine(view) {
  const match = /^#L(\d+)$/.exec(window.location.hash);
  if (!match) { return; }
  const number = Math.min(Math.max(Number(match[1]), 1), view.state.doc.lines);
  const line = view.state.doc.line(number);
  view.dispatch({
    selection: EditorSelection.cursor(line.from),
    effects: EditorView.scrollIntoView(line.from, { y: "center" }),
  });
  host.scrollIntoView({ block: "nearest" });
  view.focus();
}

if (host && textarea) {
  const shadow = host.attachShadow({ mode: "open" });
  const extensions = [
    basicSetup,
    lintGutter(),
    // Wrapped lines and no height limit: the page scrolls, not a region inside it (a
    // scrollable region would need its own tab stop to be reachable by keyboard).
    EditorView.lineWrapping,
    EditorView.updateListener.of((update) => {
      if (update.docChanged) { textarea.value = update.state.doc.toString(); }
    }),
    EditorView.contentAttributes.of({ "aria-label": host.dataset.label || "" }),
    EditorState.readOnly.of(textarea.readOnly),
    EditorView.theme({
      "&": { fontSize: "14px", border: "1px solid #6b7280", borderRadius: "6px", backgroundColor: "#fff" },
      "&.cm-focused": { outline: "3px solid #0b5fff", outlineOffset: "2px" },
      ".cm-scroller": { fontFamily: "ui-monospace, monospace", minHeight: "20rem" },
    }),
  ];
  if (host.dataset.yaml === "true") { extensions.push(yaml()); }
  const view = new EditorView({
    state: EditorState.create({ doc: textarea.value, extensions }),
    parent: shadow,
    root: shadow,
  });
  view.dispatch(setDiagnostics(view.state, problems(view.state)));
  host.classList.add("is-enhanced");
  goToLine(view);
  window.addEventListener("hashchange", () => goToLine(view));
}
