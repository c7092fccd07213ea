// What the builder's files editor needs from CodeMirror 6, bundled by `make vendor` into one
// ES module (static/builder/vendor/codemirror.js) so the browser loads one vendored file.
export { basicSetup } from "codemirror";
export { EditorView, keymap } from "@codemirror/view";
export { EditorState, EditorSelection } from "@codemirror/state";
export { indentWithTab } from "@codemirror/commands";
export { yaml } from "@codemirror/lang-yaml";
export { setDiagnostics, lintGutter } from "@codemirror/lint";
