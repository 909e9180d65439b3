/*! Flowstudio background-workflow view, shared by the webchat widget (served in front of
 * inject.js) and the studio's emulator. Hand-written, no dependencies, ES5 like the widget.
 * It turns the six progress events of docs/workflows.md into one block per run: a header
 * (name, status), a shimmering line while a step runs, a form for WorkflowInterventionRequired
 * built from its dataPoints, a retry button after WorkflowStepFailed and a completion line.
 * The host gives it the socket (`send`) and the place in its message list (`place`). */
(function () {
  'use strict';
  if (window.FlowstudioWorkflowUI) return;

  var EVENTS = { WorkflowStarted: 1, WorkflowStepStarted: 1, WorkflowInterventionRequired: 1,
    WorkflowStepCompleted: 1, WorkflowStepFailed: 1, WorkflowCompleted: 1 };
  var STATUS = { running: 'Running', paused: 'Waiting for your answer', failed: 'Step failed',
    completed: 'Completed', cancelled: 'Cancelled' };
  var INPUT_TYPES = { Text: 'text', Email: 'email', Url: 'url', Date: 'date', Number: 'number' };
  // Loose on purpose: the server's schema check is the judge, this only catches typos early.
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var counter = 0;

  // Colours come from the host through --wf-* variables (the widget maps its --bp-* theme,
  // the emulator the studio's), so light and dark follow the page around the block.
  var CSS = [
    '.bpWorkflow{border:1px solid var(--wf-border,#e5e7eb);border-radius:12px;background:var(--wf-bg,#fff);color:var(--wf-fg,#1a1a1a);padding:10px 12px;display:flex;flex-direction:column;gap:8px;max-width:100%;align-self:stretch;font-size:13px}',
    '.bpWorkflowHeader{display:flex;align-items:center;gap:8px;justify-content:space-between}',
    '.bpWorkflowName{font-weight:600;overflow-wrap:anywhere}',
    '.bpWorkflowStatus{font-size:11px;border-radius:999px;padding:2px 8px;background:var(--wf-surface,#f1f3f5);color:var(--wf-muted,#4b5563);white-space:nowrap}',
    '.bpWorkflowStatus[data-status=completed]{background:var(--wf-ok-bg,#dcfce7);color:var(--wf-ok,#166534)}',
    '.bpWorkflowStatus[data-status=failed]{background:var(--wf-danger-bg,#fde8e8);color:var(--wf-danger,#9b1c1c)}',
    '.bpWorkflowStatus[data-status=paused]{background:var(--wf-accent,#3276EA);color:var(--wf-on-accent,#fff)}',
    '.bpWorkflowStep{color:var(--wf-muted,#4b5563)}',
    '.bpWorkflowFormBox:empty{display:none}',
    // The live region stays in the page (so what appears in it later is read out); with
    // nothing shown it gives back the gap it takes.
    '.bpWorkflowProgress:not(:has(> :not([hidden]))){margin-top:-8px}',
    '.bpWorkflowStep[hidden],.bpWorkflowForm[hidden],.bpWorkflowFailure[hidden],.bpWorkflowDone[hidden],.bpWorkflowFieldError:empty,.bpWorkflowFormError:empty{display:none}',
    '.bpWorkflowShimmer{background:linear-gradient(90deg,var(--wf-muted,#6b7280) 0%,var(--wf-muted,#6b7280) 40%,var(--wf-fg,#1a1a1a) 50%,var(--wf-muted,#6b7280) 60%,var(--wf-muted,#6b7280) 100%);background-size:300% 100%;-webkit-background-clip:text;background-clip:text;color:transparent;animation:bpWorkflowShimmer 1.6s linear infinite}',
    '@keyframes bpWorkflowShimmer{0%{background-position:100% 0}100%{background-position:0 0}}',
    '@media (prefers-reduced-motion:reduce){.bpWorkflowShimmer{animation:none;color:var(--wf-muted,#6b7280);background:none}}',
    '.bpWorkflowForm{display:flex;flex-direction:column;gap:8px;margin:0}',
    '.bpWorkflowForm fieldset{border:0;margin:0;padding:0;display:flex;flex-direction:column;gap:8px;min-width:0}',
    '.bpWorkflowPrompt{margin:0;font-weight:500;color:var(--wf-fg,#1a1a1a)}',
    '.bpWorkflowField{display:flex;flex-direction:column;gap:3px}',
    '.bpWorkflowField[data-type=Boolean]{flex-direction:row;flex-wrap:wrap;align-items:center;gap:6px}',
    '.bpWorkflowLabel{font-weight:500}',
    '.bpWorkflowRequired{color:var(--wf-danger,#9b1c1c);margin-left:2px}',
    '.bpWorkflowInput{font:inherit;padding:6px 8px;border-radius:8px;border:1px solid var(--wf-border,#d1d5db);background:var(--wf-bg,#fff);color:var(--wf-fg,#1a1a1a);min-width:0}',
    '.bpWorkflowInput:focus-visible{outline:2px solid var(--wf-accent,#3276EA);outline-offset:1px}',
    '.bpWorkflowInput[aria-invalid=true]{border-color:var(--wf-danger,#9b1c1c)}',
    '.bpWorkflowHint{font-size:12px;color:var(--wf-muted,#4b5563)}',
    '.bpWorkflowFieldError,.bpWorkflowFormError,.bpWorkflowFailure{font-size:12px;color:var(--wf-danger,#9b1c1c)}',
    '.bpWorkflowField[data-type=Boolean] .bpWorkflowFieldError,.bpWorkflowField[data-type=Boolean] .bpWorkflowHint{flex-basis:100%}',
    '.bpWorkflowButton{align-self:flex-start;font:inherit;border:0;border-radius:8px;padding:6px 14px;background:var(--wf-accent,#3276EA);color:var(--wf-on-accent,#fff);cursor:pointer}',
    '.bpWorkflowButton:disabled{opacity:.6;cursor:default}',
    '.bpWorkflowButton:focus-visible{outline:2px solid var(--wf-fg,#1a1a1a);outline-offset:2px}',
    '.bpWorkflowFailure{display:flex;flex-direction:column;gap:6px}',
    '.bpWorkflowDone{color:var(--wf-ok,#166534);font-weight:500}',
    '.bpWorkflowDone[data-status=cancelled]{color:var(--wf-muted,#4b5563)}'
  ].join('\n');

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }
  function nextId(what) { counter += 1; return 'bpWorkflow-' + what + '-' + counter; }

  // ---- the form ----------------------------------------------------------------------------
  function fieldNode(point) {
    var id = nextId('field'), type = point.type || 'Text';
    var box = el('div', 'bpWorkflowField');
    box.setAttribute('data-key', point.key);
    box.setAttribute('data-type', type);
    var label = el('label', 'bpWorkflowLabel', point.label || point.key);
    label.htmlFor = id;
    if (point.required) {
      var star = el('span', 'bpWorkflowRequired', '*');
      star.setAttribute('aria-hidden', 'true');
      label.appendChild(star);
    }
    var input;
    if (type === 'Select') {
      input = el('select', 'bpWorkflowInput');
      input.appendChild(el('option', null, 'Choose…')).value = '';
      (point.options || []).forEach(function (option, index) {
        var node = el('option', null, option.label != null ? option.label : String(option.value));
        node.value = String(index);  // the option's own value may be a number: kept by index
        input.appendChild(node);
      });
    } else {
      input = el('input', 'bpWorkflowInput');
      input.type = type === 'Boolean' ? 'checkbox' : (INPUT_TYPES[type] || 'text');
      if (type === 'Number') input.step = 'any';
      if (point.minimum != null) input.min = point.minimum;
      if (point.maximum != null) input.max = point.maximum;
      if (point.maxLength != null) input.maxLength = point.maxLength;
      if (type === 'Email') input.autocomplete = 'email';
    }
    input.id = id;
    input.name = point.key;
    if (point.required && type !== 'Boolean') { input.required = true; input.setAttribute('aria-required', 'true'); }
    var error = el('div', 'bpWorkflowFieldError');
    error.id = nextId('error');
    var described = [error.id];
    var hint = null;
    if (point.description) {
      hint = el('div', 'bpWorkflowHint', point.description);
      hint.id = nextId('hint');
      described.unshift(hint.id);
    }
    input.setAttribute('aria-describedby', described.join(' '));
    if (type === 'Boolean') { box.appendChild(input); box.appendChild(label); }
    else { box.appendChild(label); box.appendChild(input); }
    if (hint) box.appendChild(hint);
    box.appendChild(error);
    return { point: point, box: box, input: input, error: error };
  }

  // The value to send and, when it does not fit the dataPoint, the message (the server's
  // schema check runs again on what is sent).
  function readField(field) {
    var p = field.point, input = field.input, name = p.label || p.key, raw;
    if (p.type === 'Boolean') return { value: !!input.checked };
    if (p.type === 'Select') {
      if (input.value === '') return p.required ? { error: 'Choose ' + name } : {};
      return { value: (p.options || [])[Number(input.value)].value };
    }
    raw = String(input.value).trim();
    if (!raw) {
      // A number box with letters in it reads as empty: say what is wrong, not "required".
      if (p.type === 'Number' && input.validity && input.validity.badInput) return { error: name + ' must be a number' };
      return p.required ? { error: name + ' is required' } : {};
    }
    if (p.type === 'Number') {
      var number = Number(raw);
      if (!isFinite(number)) return { error: name + ' must be a number' };
      if (p.minimum != null && number < p.minimum) return { error: name + ' must be at least ' + p.minimum };
      if (p.maximum != null && number > p.maximum) return { error: name + ' must be at most ' + p.maximum };
      return { value: number };
    }
    if (p.type === 'Email' && !EMAIL.test(raw)) return { error: name + ' must be an email address' };
    if (p.type === 'Date' && isNaN(Date.parse(raw))) return { error: name + ' must be a date' };
    if (p.type === 'Url' && !/^https?:\/\/\S+$/i.test(raw)) return { error: name + ' must be a web address (https://…)' };
    if (p.minLength != null && raw.length < p.minLength) return { error: name + ' must be at least ' + p.minLength + ' characters' };
    if (p.maxLength != null && raw.length > p.maxLength) return { error: name + ' must be at most ' + p.maxLength + ' characters' };
    if (p.pattern) {
      var pattern = null;
      try { pattern = new RegExp(p.pattern, 'u'); } catch (e) { /* a pattern JS cannot read: the server checks it */ }
      if (pattern && !pattern.test(raw)) return { error: name + ' is not in the expected format' };
    }
    return { value: raw };
  }

  function showFieldError(field, message) {
    field.error.textContent = message || '';
    if (message) field.input.setAttribute('aria-invalid', 'true');
    else field.input.removeAttribute('aria-invalid');
  }

  // ---- one run -------------------------------------------------------------------------------
  function Run(ui, id) {
    this.ui = ui;
    this.id = id;
    this.name = 'Workflow';
    this.status = 'running';
    this.step = null;
    this.node = el('section', 'bpWorkflow');
    this.node.setAttribute('data-workflow-id', id);
    this.header = el('div', 'bpWorkflowHeader');
    this.title = el('span', 'bpWorkflowName');
    this.title.id = nextId('name');
    this.node.setAttribute('aria-labelledby', this.title.id);
    this.badge = el('span', 'bpWorkflowStatus');
    this.header.appendChild(this.title);
    this.header.appendChild(this.badge);
    // What the run is doing now, read out as it changes (a step starts, the run ends).
    this.live = el('div', 'bpWorkflowProgress');
    this.live.setAttribute('role', 'status');
    this.live.setAttribute('aria-live', 'polite');
    this.stepLine = el('div', 'bpWorkflowStep');
    this.done = el('div', 'bpWorkflowDone');
    this.done.hidden = true;
    this.live.appendChild(this.stepLine);
    this.live.appendChild(this.done);
    this.failure = el('div', 'bpWorkflowFailure');
    this.failure.setAttribute('role', 'alert');
    this.failure.hidden = true;
    this.formBox = el('div', 'bpWorkflowFormBox');
    this.node.appendChild(this.header);
    this.node.appendChild(this.live);
    this.node.appendChild(this.formBox);
    this.node.appendChild(this.failure);
    this.form = null;
  }

  Run.prototype.render = function () {
    var running = this.status === 'running';
    this.title.textContent = this.name;
    this.badge.textContent = STATUS[this.status] || this.status;
    this.badge.setAttribute('data-status', this.status);
    this.node.setAttribute('data-status', this.status);
    var stepText = running ? ((this.step && this.step.message) || 'Working…') : '';
    if (this.stepLine.textContent !== stepText) this.stepLine.textContent = stepText;
    this.stepLine.hidden = !running;
    this.stepLine.className = 'bpWorkflowStep' + (running ? ' bpWorkflowShimmer' : '');
    if (running) this.stepLine.setAttribute('data-running', ''); else this.stepLine.removeAttribute('data-running');
    var ended = this.status === 'completed' || this.status === 'cancelled';
    this.done.hidden = !ended;
    if (ended) {
      this.done.setAttribute('data-status', this.status);
      this.done.textContent = this.name + (this.status === 'cancelled' ? ' was cancelled' : ' completed');
    }
    if (this.status !== 'failed') this.failure.hidden = true;
    if (this.status !== 'paused' && this.form) this.dropForm();
  };

  Run.prototype.dropForm = function () {
    this.formBox.textContent = '';
    this.form = null;
  };

  Run.prototype.showForm = function (intervention) {
    if (this.form && this.form.stepId === intervention.stepId) return;  // a replay: keep what was typed
    this.dropForm();
    var run = this, form = el('form', 'bpWorkflowForm');
    form.noValidate = true;  // our messages, from the schema, instead of the browser's bubbles
    form.setAttribute('data-step-id', intervention.stepId || '');
    var prompt = el('p', 'bpWorkflowPrompt', intervention.message || 'Please fill in:');
    prompt.id = nextId('prompt');
    form.setAttribute('aria-labelledby', prompt.id);
    var fieldset = el('fieldset');
    var fields = (intervention.dataPoints || []).map(fieldNode);
    fields.forEach(function (field) { fieldset.appendChild(field.box); });
    var formError = el('div', 'bpWorkflowFormError');
    formError.setAttribute('role', 'alert');
    var submit = el('button', 'bpWorkflowButton bpWorkflowSubmit', 'Send');
    submit.type = 'submit';
    fieldset.appendChild(formError);
    fieldset.appendChild(submit);
    form.appendChild(prompt);
    form.appendChild(fieldset);
    this.form = { node: form, stepId: intervention.stepId, fields: fields, fieldset: fieldset, submit: submit, error: formError };
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      run.submit();
    });
    this.formBox.appendChild(form);
  };

  Run.prototype.submit = function () {
    var run = this, f = this.form;
    if (!f || f.sending) return;
    var values = {}, firstBad = null;
    f.error.textContent = '';
    f.fields.forEach(function (field) {
      var read = readField(field);
      showFieldError(field, read.error);
      if (read.error && !firstBad) firstBad = field;
      if (!read.error && read.value !== undefined) values[field.point.key] = read.value;
    });
    if (firstBad) { firstBad.input.focus(); return; }
    f.sending = true;
    f.fieldset.disabled = true;
    f.node.setAttribute('aria-busy', 'true');
    f.submit.textContent = 'Sending…';
    this.ui.send({ type: 'resume_workflow', workflowId: this.id, stepId: f.stepId, values: values }).then(function () {
      // Sent: the form stays, disabled, until the next progress event takes it away.
      if (run.form === f) f.submit.textContent = 'Sent';
    }, function (err) {
      if (run.form !== f) return;
      f.sending = false;
      f.fieldset.disabled = false;
      f.node.removeAttribute('aria-busy');
      f.submit.textContent = 'Send';
      run.showServerErrors(err);
    });
  };

  // The server's refusal: field errors under their fields (`errors`: [{field, message}]), the
  // rest (the run moved on, the connection dropped) above the button.
  Run.prototype.showServerErrors = function (err) {
    var f = this.form, byKey = {}, firstBad = null, rest = [];
    f.fields.forEach(function (field) { byKey[field.point.key] = field; });
    ((err && err.errors) || []).forEach(function (item) {
      var field = byKey[String(item.field || '').split('/')[0]];
      if (field) {
        showFieldError(field, (field.point.label || field.point.key) + ': ' + item.message);
        if (!firstBad) firstBad = field;
      } else rest.push(item.field ? item.field + ': ' + item.message : item.message);
    });
    if (rest.length || !firstBad) f.error.textContent = rest.length ? rest.join('; ') : ((err && err.message) || 'The answer could not be sent.');
    if (firstBad) firstBad.input.focus();
  };

  Run.prototype.showFailure = function (stepId, error) {
    var run = this;
    this.failure.textContent = '';
    this.failure.appendChild(el('div', 'bpWorkflowFailureText',
      'The step "' + ((this.step && this.step.id === stepId && this.step.message) || stepId) + '" failed' + (error ? ': ' + error : '.')));
    var retry = el('button', 'bpWorkflowButton bpWorkflowRetry', 'Try again');
    retry.type = 'button';
    var problem = el('div', 'bpWorkflowFormError');
    retry.addEventListener('click', function () {
      retry.disabled = true;
      retry.textContent = 'Retrying…';
      problem.textContent = '';
      run.ui.send({ type: 'retry_workflow', workflowId: run.id }).then(null, function (err) {
        retry.disabled = false;
        retry.textContent = 'Try again';
        problem.textContent = (err && err.message) || 'The step could not be retried.';
      });
    });
    this.failure.appendChild(retry);
    this.failure.appendChild(problem);
    this.failure.hidden = false;
  };

  // ---- the view of a conversation ---------------------------------------------------------------
  function create(options) {
    var runs = {};

    function runFor(id, seq) {
      var run = runs[id];
      if (!run) {
        run = runs[id] = new Run(options, id);
        options.place(run.node, seq);
      } else if (seq != null && run.seq == null) {
        options.place(run.node, seq);  // placed from `activeWorkflows`, now its start is known
      }
      if (seq != null && run.seq == null) run.seq = seq;
      return run;
    }

    function changed() { if (options.changed) options.changed(); }

    return {
      // A progress event (payload of a bot event message) with its seq; false for other events.
      // `past`: it was in the transcript when the ready frame was made. A run that frame
      // listed is already in its current state (a half-typed form is not rebuilt by the
      // replay), so its past events only place it; a finished run is rebuilt from them.
      event: function (p, seq, past) {
        if (!p || !EVENTS[p.type] || typeof p.workflowId !== 'string') return false;
        var run = runFor(p.workflowId, p.type === 'WorkflowStarted' ? seq : null);
        if (past && run.active) {
          if (p.type === 'WorkflowStarted' && p.name) { run.name = p.name; run.render(); }
          return true;
        }
        switch (p.type) {
          case 'WorkflowStarted':
            if (p.name) run.name = p.name;
            run.status = 'running';
            break;
          case 'WorkflowStepStarted':
            run.status = 'running';
            run.step = { id: p.stepId, message: p.message };
            break;
          case 'WorkflowInterventionRequired':
            run.status = 'paused';
            run.step = { id: p.stepId, message: p.message };
            run.render();
            run.showForm(p);
            break;
          case 'WorkflowStepCompleted':
            if (run.form && run.form.stepId === p.stepId) run.dropForm();
            if (run.status === 'paused') run.status = 'running';
            run.step = { id: p.stepId, message: '' };
            break;
          case 'WorkflowStepFailed':
            run.status = 'failed';
            run.showFailure(p.stepId, p.error);
            break;
          case 'WorkflowCompleted':
            run.status = p.status === 'cancelled' ? 'cancelled' : (p.status === 'failed' ? 'failed' : 'completed');
            break;
        }
        run.render();
        changed();
        return true;
      },
      // The ready frame's `activeWorkflows`: the runs going on, a paused one with its form.
      active: function (list) {
        (list || []).forEach(function (a) {
          if (!a || typeof a.workflowId !== 'string') return;
          var run = runFor(a.workflowId, null);
          run.active = true;
          if (a.name) run.name = a.name;
          run.status = a.status === 'paused' ? 'paused' : 'running';
          run.step = { id: a.stepId, message: a.message };
          run.render();
          if (a.intervention) run.showForm(a.intervention);
        });
        changed();
      },
      clear: function () {
        for (var id in runs) if (runs[id].node.parentNode) runs[id].node.parentNode.removeChild(runs[id].node);
        runs = {};
      },
      isWorkflowEvent: function (p) { return !!(p && EVENTS[p.type]); }
    };
  }

  window.FlowstudioWorkflowUI = { create: create, CSS: CSS };
})();
