// The official @ag-ui/client HttpAgent, unchanged, against Flowstudio's AG-UI endpoint
// (test_agui_client.py). SCENARIO "turn": one user message, the bot's (streamed) answer.
// SCENARIO "workflow": a message that starts the order workflow, each interrupt resumed
// with its payload (one with a missing field, refused) until the workflow completes.
// Prints one JSON line: each run's events (type and the fields the test checks), the
// agent's pending interrupts after it and its error, if any.
const { HttpAgent } = require('@ag-ui/client')
const { randomUUID } = require('crypto')

function brief(event) {
  const out = { type: event.type }
  for (const k of ['messageId', 'delta', 'stepName', 'name', 'outcome', 'result', 'message', 'code', 'threadId', 'runId']) {
    if (event[k] !== undefined) out[k] = event[k]
  }
  if (event.type === 'CUSTOM') out.value = event.value
  return out
}

async function run(agent, params) {
  const events = []
  let error = null
  try {
    await agent.runAgent(params, { onEvent: ({ event }) => { events.push(brief(event)) } })
  } catch (err) {
    error = String(err && err.message || err)
  }
  return { events, error, pending: (agent.pendingInterrupts || []).map((i) => ({ ...i })) }
}

async function main() {
  const agent = new HttpAgent({ url: process.env.AGUI_URL, headers: { 'x-user-key': process.env.USER_KEY } })
  const runs = []
  agent.addMessage({ id: randomUUID(), role: 'user', content: process.env.USER_TEXT })
  runs.push(await run(agent, {}))
  if (process.env.SCENARIO === 'workflow') {
    const answers = JSON.parse(process.env.ANSWERS)
    for (const payload of answers) {
      const pending = runs[runs.length - 1].pending
      if (!pending.length) break
      runs.push(await run(agent, { resume: [{ interruptId: pending[0].id, status: 'resolved', payload }] }))
      if (runs[runs.length - 1].error) {
        // A refused payload leaves the step paused: the interrupt is still the one to answer.
        runs[runs.length - 1].pending = pending
      }
    }
  }
  const messages = agent.messages.map((m) => ({ id: m.id, role: m.role, content: m.content }))
  console.log(JSON.stringify({ threadId: agent.threadId, runs, messages }))
}

main().catch((err) => { console.log(JSON.stringify({ failed: String(err && err.stack || err) })); process.exit(1) })
