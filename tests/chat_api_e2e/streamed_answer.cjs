// The official @botpress/chat client against a bot whose answer streams: it must take the
// Flowstudio-only signals (message_delta, message_cancelled) in its stride. Prints one JSON
// line: the bot's message as the client parsed it, the `unknown` signals it emitted, and
// any error. API_URL comes from the environment (test_botpress_client.py).
const chat = require('@botpress/chat')

async function main() {
  const client = await chat.Client.connect({ apiUrl: process.env.API_URL })
  const { conversation } = await client.createConversation({})
  const listener = await client.listenConversation({ id: conversation.id })
  const unknown = []
  const errors = []
  listener.on('unknown', (raw) => unknown.push(raw))
  listener.on('error', (err) => errors.push(String(err)))
  const answered = new Promise((resolve) => {
    listener.on('message_created', (m) => { if (m.isBot) resolve(m) })
  })
  await client.createMessage({ conversationId: conversation.id, payload: { type: 'text', text: 'count' } })
  const message = await answered
  await listener.disconnect()
  console.log(JSON.stringify({ message, unknown, errors }))
}

main().catch((err) => { console.log(JSON.stringify({ failed: String(err && err.stack || err) })); process.exit(1) })
