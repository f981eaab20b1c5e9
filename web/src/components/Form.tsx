// What every form page shares: a submit that reports a readable error and
// disables its button while it runs, and a labelled field with an optional
// hint (the same markup everywhere, so styles and the browser tests agree).
import type { ComponentChildren } from 'preact';
import { useSignal } from '@preact/signals';
import { describe } from '../errors';

// The trimmed text of a form field ('' when absent).
export function field(f: FormData, name: string): string {
  return String(f.get(name) ?? '').trim();
}

// onSubmit for a form: runs action with the form's data; err holds what
// failed (describe()), busy is true meanwhile.
export function useFormAction(action: (f: FormData, form: HTMLFormElement) => Promise<void>) {
  const err = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    busy.value = true;
    err.value = null;
    try {
      await action(new FormData(form), form);
    } catch (x) {
      err.value = describe(x);
    } finally {
      busy.value = false;
    }
  };
  return { err, busy, submit };
}

export function Field(props: { label: string; hint?: { id: string; text: string }; children: ComponentChildren }) {
  return (
    <>
      <label>
        {props.label}
        {props.children}
      </label>
      {props.hint && <small id={props.hint.id} class="muted hint">{props.hint.text}</small>}
    </>
  );
}

export function FormError(props: { err: string | null }) {
  return props.err ? <p class="error" role="alert">{props.err}</p> : null;
}
