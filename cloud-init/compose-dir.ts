// Where the app's docker compose project sits on the host: the one rule for the recovery
// steps (components/recovery), user-data's image pre-pull (render.ts) and the drill's
// checks over SSH (drill/). Pure, with no imports, so the drill can use it without loading
// the renderer.

/** The docker compose project directory: the checkout (`composeSubdir` "."), or a folder inside it. */
export function composeDir(app: { dir: string; composeSubdir: string }): string {
    return app.composeSubdir === "." ? app.dir : `${app.dir}/${app.composeSubdir}`;
}
