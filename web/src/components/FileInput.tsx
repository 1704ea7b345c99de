// FileInput: a file chooser that speaks French. The browser's own control is labelled in the
// browser's language ("Choose Files", "No file chosen"); here the native input stays (focusable,
// announced by screen readers, and the one tests give files to), visually hidden, and a label
// drawn as a button opens it and says in French what is chosen.
import type { ChangeEvent } from 'react';

export function FileInput({
  id,
  multiple = false,
  accept,
  invalid,
  chosen,
  onFiles,
}: {
  id: string;
  multiple?: boolean;
  accept?: string;
  invalid?: boolean;
  /** What is chosen, shown beside the button (a file's name); nothing when the list shows it. */
  chosen?: string | null;
  onFiles: (files: FileList | null) => void;
}) {
  return (
    <span className="file-input">
      <input
        id={id}
        type="file"
        className="visually-hidden"
        multiple={multiple}
        accept={accept}
        aria-invalid={invalid || undefined}
        onChange={(e: ChangeEvent<HTMLInputElement>) => onFiles(e.target.files)}
      />
      <label htmlFor={id} className="button button-small" aria-hidden="true">
        {multiple ? 'Choisir des fichiers' : 'Choisir un fichier'}
      </label>
      {chosen !== undefined && <span className="muted small">{chosen || 'Aucun fichier choisi'}</span>}
    </span>
  );
}
