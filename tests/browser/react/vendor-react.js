// esbuild entry (tests/browser/test_react.py): "react" as an ES module for the test page's
// import map. React 19 on npm is CommonJS only; this names the exports the page and
// static/queueadmin/react.js use. Built together with vendor-react-dom-client.js, so
// both share one copy of React.
import React from "react";

export default React;
export const {
  Children,
  Component,
  Fragment,
  StrictMode,
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} = React;
