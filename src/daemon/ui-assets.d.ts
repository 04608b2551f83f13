// The dashboard's files (src/dashboard), built by build/ui.mjs into ui-assets.js beside this
// file's output at build time: the daemon embeds them, so bin/berth serves them by itself.
export interface UiFile {
  type: string;
  body: string;
  /** a hash of the body: the browser revalidates with If-None-Match */
  etag: string;
}

/** by the path they are served at: '/', '/ui/app.js', '/ui/style.css' */
export declare const UI_FILES: Record<string, UiFile>;
