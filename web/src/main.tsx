import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import "./a11y/a11y.css";
import { App } from "./App";
import { credential, takeTokenFromAddress } from "./api/credential";
import { Login } from "./login/Login";

const root = document.getElementById("root");
if (!root) throw new Error("index.html lacks #root");

// Before anything reads the address: the printed link's token goes into this tab's storage.
takeTokenFromAddress();

createRoot(root).render(<StrictMode>{credential() ? <App /> : <Login />}</StrictMode>);
