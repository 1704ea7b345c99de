// Attachments of a form (a message, a homework): files uploaded to fichiers with their progress,
// listed with a button to take each one off again. The form sends the ids; the parent keeps the
// list and the uploads in progress (to wait for them before sending).
import { useRef, useState } from 'react';
import { useApi } from '../lib/api';
import { fmtSize } from '../lib/format';
import { FileInput } from './FileInput';

export type Attached = { id: string; name: string; size: number };
export type Uploading = { key: number; name: string; progress: number };

/** The field: a file input (several files), the files attached and the uploads in progress. */
export function AttachmentsField({
  id,
  className,
  label = 'Joindre des fichiers',
  files,
  onChange,
  uploads,
  setUploads,
  onError,
  invalid,
}: {
  id: string;
  className?: string;
  label?: string;
  files: Attached[];
  onChange: (f: (prev: Attached[]) => Attached[]) => void;
  uploads: Uploading[];
  setUploads: (f: (prev: Uploading[]) => Uploading[]) => void;
  onError: (e: unknown) => void;
  invalid?: boolean;
}) {
  const { upload } = useApi();
  const [inputKey, setInputKey] = useState(0);
  const keyRef = useRef(0);
  const add = (list: FileList | null) => {
    for (const file of Array.from(list ?? [])) {
      const key = ++keyRef.current;
      setUploads((u) => [...u, { key, name: file.name, progress: 0 }]);
      upload<Attached>(`/api/fichiers?name=${encodeURIComponent(file.name)}`, file, (p) =>
        setUploads((u) => u.map((x) => (x.key === key ? { ...x, progress: p } : x))),
      )
        .then((f) => onChange((prev) => [...prev, { id: f.id, name: f.name, size: f.size }]))
        .catch(onError)
        .finally(() => setUploads((u) => u.filter((x) => x.key !== key)));
    }
    setInputKey((k) => k + 1);
  };
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      <FileInput key={inputKey} id={id} multiple invalid={invalid} onFiles={add} />
      {(files.length > 0 || uploads.length > 0) && (
        <ul className="file-list" aria-label="Pièces jointes">
          {files.map((f) => (
            <li key={f.id}>
              <span>
                {f.name} <span className="muted small">{fmtSize(f.size)}</span>
              </span>
              <button type="button" className="link-button" onClick={() => onChange((prev) => prev.filter((x) => x.id !== f.id))}>
                Retirer<span className="visually-hidden"> {f.name}</span>
              </button>
            </li>
          ))}
          {uploads.map((u) => (
            <li key={`u${u.key}`}>
              <label htmlFor={`${id}-upload-${u.key}`}>
                Envoi de {u.name} : {Math.round(u.progress * 100)} %
              </label>
              <progress id={`${id}-upload-${u.key}`} max={100} value={Math.round(u.progress * 100)} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
