// For pages drawn wholly by the server (find a child, my uploads): the header's sign-out
// button, and focus on an error summary the server drew, so a screen reader reads it first.
import { wireHeader } from "./api.js";

wireHeader();
const summary = document.getElementById("error-summary");
if (summary && !summary.hidden) summary.focus();
