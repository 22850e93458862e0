// esbuild entry (tests/browser/test_react.py): "react-dom/client" as an ES module for the
// test page's import map, sharing vendor-react.js's React.
import ReactDOMClient from "react-dom/client";

export default ReactDOMClient;
export const { createRoot, hydrateRoot } = ReactDOMClient;
