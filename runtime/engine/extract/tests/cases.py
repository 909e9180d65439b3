"""Real-looking answers and the value a capture card should store for each.

`REFUSED` marks answers that must give ok=False. A case the libraries truly cannot pass
carries `gap="why"`; it is still run and counted, never dropped.
Relative dates use NOW (Wednesday 2025-03-12 10:30 in New York, UTC-4 after DST).
"""

from datetime import datetime, timezone

NOW = datetime(2025, 3, 12, 14, 30, tzinfo=timezone.utc)
TZ = "America/New_York"
REFUSED = object()

SIZES = {"choices": ["Small", "Medium", "Large"]}
TRANSPORT = {"choices": [{"label": "Car", "value": "car"}, {"label": "Bus", "value": "bus"},
                         {"label": "Bike", "value": "bike"}]}
LANGS = {"choices": [{"label": "French", "value": "fr"}, {"label": "English", "value": "en"},
                     {"label": "Spanish", "value": "es"}]}
PLANS = {"choices": [{"label": "Basic plan", "value": "basic"}, {"label": "Pro plan", "value": "pro"},
                     {"label": "Enterprise plan", "value": "enterprise"}]}
TOPPINGS = {"choices": ["pepperoni", "mushrooms", "onions", "olives", "sausage", "extra cheese"]}
AIRPORTS = {"entities": [{"name": "SFO", "synonyms": ["San Francisco", "SF"]},
                         {"name": "BOM", "synonyms": ["Mumbai", "Bombay"]},
                         {"name": "JFK", "synonyms": ["New York", "NYC", "Kennedy"]}]}
PIZZAS = {"entities": [{"name": "margherita", "synonyms": ["margarita", "cheese pizza"]},
                       {"name": "hawaiian", "synonyms": ["ham and pineapple"]},
                       {"name": "pepperoni", "synonyms": []},
                       {"name": "vegetarian", "synonyms": ["veggie"]}]}
SKU = {"pattern": r"[A-Z]{3}-[0-9]{4}-[A-Z]{3}"}
CARD = {"pattern": r"(?:\d{4}[- ]?){3}\d{4}", "sensitive": True}


def c(kind, text, expected, options=None, gap=None):
    return {"kind": kind, "text": text, "expected": expected, "options": options, "gap": gap}


def sched(cron, repeatable=True):
    return {"cron": cron, "repeatable": repeatable}


def colour(name, hex_code):
    h = hex_code.lstrip("#")
    return {"name": name, "hex": hex_code, "rgb": [int(h[i:i + 2], 16) for i in (0, 2, 4)]}


def addr(number, street, city, zip_code, country):
    return {"number": number, "street": street, "city": city, "zip": zip_code, "country": country}


CASES = [
    # single_choice
    c("single_choice", "Medium", "Medium", SIZES),
    c("single_choice", "medium", "Medium", SIZES),
    c("single_choice", "LARGE", "Large", SIZES),
    c("single_choice", "I'll have a large please", "Large", SIZES),
    c("single_choice", "larg", "Large", SIZES),
    c("single_choice", "meduim", "Medium", SIZES),
    c("single_choice", "the second one", "Medium", SIZES),
    c("single_choice", "2", "Medium", SIZES),
    c("single_choice", "the last one", "Large", SIZES),
    c("single_choice", "first", "Small", SIZES),
    c("single_choice", "option 3", "Large", SIZES),
    c("single_choice", "small one please", "Small", SIZES),
    c("single_choice", "extra large", "Large", SIZES),
    c("single_choice", "I usually take the bus", "bus", TRANSPORT),
    c("single_choice", "bike", "bike", TRANSPORT),
    c("single_choice", "by car", "car", TRANSPORT),
    c("single_choice", "fr", "fr", LANGS),
    c("single_choice", "english please", "en", LANGS),
    c("single_choice", "Spansh", "es", LANGS),
    c("single_choice", "pro", "pro", PLANS),
    c("single_choice", "the enterprise plan", "enterprise", PLANS),
    c("single_choice", "I want a pony", REFUSED, SIZES),
    c("single_choice", "5", REFUSED, SIZES),
    c("single_choice", "small or large, not sure", REFUSED, SIZES),
    c("single_choice", "by plane", REFUSED, TRANSPORT),
    c("single_choice", "German", REFUSED, LANGS),
    # multiple_choice
    c("multiple_choice", "pepperoni and mushrooms", ["pepperoni", "mushrooms"], TOPPINGS),
    c("multiple_choice", "pepperoni, mushroms, olives", ["pepperoni", "mushrooms", "olives"], TOPPINGS),
    c("multiple_choice", "just onions", ["onions"], TOPPINGS),
    c("multiple_choice", "Sausage & extra cheese please", ["sausage", "extra cheese"], TOPPINGS),
    c("multiple_choice", "olives plus onions", ["olives", "onions"], TOPPINGS),
    c("multiple_choice", "all of them", ["pepperoni", "mushrooms", "onions", "olives", "sausage", "extra cheese"],
      TOPPINGS),
    c("multiple_choice", "1 and 3", ["pepperoni", "onions"], TOPPINGS),
    c("multiple_choice", "French and Spanish", ["fr", "es"], LANGS),
    c("multiple_choice", "en, es", ["en", "es"], LANGS),
    c("multiple_choice", "I speak english and a bit of french", ["en", "fr"], LANGS),
    c("multiple_choice", "car and bike", ["car", "bike"], TRANSPORT),
    c("multiple_choice", "pineapple", REFUSED, TOPPINGS),
    c("multiple_choice", "nothing thanks", REFUSED, TOPPINGS),
    c("multiple_choice", "German and Italian", REFUSED, LANGS),
    # boolean
    c("boolean", "yes", True), c("boolean", "Yeah", True), c("boolean", "yep!", True), c("boolean", "sure", True),
    c("boolean", "of course", True), c("boolean", "absolutely", True), c("boolean", "true", True),
    c("boolean", "no", False), c("boolean", "Nope", False), c("boolean", "nah", False),
    c("boolean", "false", False), c("boolean", "not really", False), c("boolean", "no thanks", False),
    c("boolean", "👍", True),
    c("boolean", "not sure", REFUSED), c("boolean", "maybe", REFUSED), c("boolean", "banana", REFUSED),
    c("boolean", "yes no", REFUSED),
    # confirmation
    c("confirmation", "Accept", True, {"choices": ["Accept", "Decline"]}),
    c("confirmation", "decline", False, {"choices": ["Accept", "Decline"]}),
    c("confirmation", "yes please", True), c("confirmation", "yup", True), c("confirmation", "go ahead", True),
    c("confirmation", "sounds good", True), c("confirmation", "yes, no problem", True),
    c("confirmation", "ok", True), c("confirmation", "that's right", True), c("confirmation", "Correct.", True),
    c("confirmation", "no way", False), c("confirmation", "I don't think so, no", False),
    c("confirmation", "absolutely not", False), c("confirmation", "not today", False),
    c("confirmation", "I'd rather not", False),
    c("confirmation", "idk", REFUSED), c("confirmation", "what do you mean?", REFUSED),
    c("confirmation", "", REFUSED),
    # number
    c("number", "42", 42), c("number", "3.14", 3.14), c("number", "1,234.5", 1234.5), c("number", "-7", -7),
    c("number", "twenty five", 25), c("number", "twenty-five", 25), c("number", "one hundred and five", 105),
    c("number", "two thousand three hundred", 2300), c("number", "3k", 3000), c("number", "1.5 million", 1500000),
    c("number", "about 40 I think", 40), c("number", "a dozen", 12), c("number", "fourty two", 42),
    c("number", "I need 3 of them", 3), c("number", "zero", 0), c("number", "minus five", -5),
    c("number", "seventeen", 17), c("number", "ninety nine", 99), c("number", "10,000", 10000),
    c("number", "0.5", 0.5), c("number", "half", 0.5), c("number", "3/4", 0.75),
    c("number", "no idea", REFUSED), c("number", "lots", REFUSED), c("number", "between 3 and 5", REFUSED),
    c("number", "", REFUSED),
    # email
    c("email", "john.doe@example.com", "john.doe@example.com"),
    c("email", "my email is jane_smith+news@gmail.com", "jane_smith+news@gmail.com"),
    c("email", "It's Bob@Example.ORG.", "Bob@example.org"),
    c("email", "<alice@work.co.uk>", "alice@work.co.uk"),
    c("email", "you can reach me at mike-o@sub.domain.io thanks", "mike-o@sub.domain.io"),
    c("email", "john dot doe at gmail dot com", "john.doe@gmail.com"),
    c("email", "sara (at) proton (dot) me", "sara@proton.me"),
    c("email", "first.last@company.com, thanks!", "first.last@company.com"),
    c("email", "UPPER@CASE.COM", "UPPER@case.com"),
    c("email", "john@", REFUSED), c("email", "john@gmail", REFUSED), c("email", "john.gmail.com", REFUSED),
    c("email", "john@@gmail.com", REFUSED), c("email", "I don't have one", REFUSED),
    c("email", "a b@c.com", "b@c.com"),
    # phone
    c("phone", "514 555 0123", "+15145550123"), c("phone", "(212) 555-0199", "+12125550199"),
    c("phone", "call me at 415.555.2671", "+14155552671"), c("phone", "5145550123", "+15145550123"),
    c("phone", "+44 20 7946 0958", "+442079460958"), c("phone", "my number is +33 6 12 34 56 78", "+33612345678"),
    c("phone", "1-800-555-0199", "+18005550199"), c("phone", "+1 514-555-0123 ext 22", "+15145550123"),
    c("phone", "020 7946 0958", "+442079460958", {"region": "GB"}),
    c("phone", "06 12 34 56 78", "+33612345678", {"region": "FR"}),
    c("phone", "415-555-2671 is my cell", "+14155552671"),
    c("phone", "12345", REFUSED), c("phone", "555-0123", REFUSED), c("phone", "call me maybe", REFUSED),
    c("phone", "000 000 0000", REFUSED),
    # address
    c("address", "123 Main St, Springfield, IL 62704, USA", addr("123", "Main St", "Springfield", "62704",
                                                                   "United States")),
    c("address", "1600 Pennsylvania Avenue NW, Washington, DC 20500",
      addr("1600", "Pennsylvania Avenue NW", "Washington", "20500", None)),
    c("address", "221B Baker Street, London, NW1 6XE, UK", addr("221B", "Baker Street", "London", "NW1 6XE",
                                                                 "United Kingdom")),
    c("address", "350 Fifth Avenue, New York, NY 10118", addr("350", "Fifth Avenue", "New York", "10118", None)),
    c("address", "I live at 42 Wallaby Way, Sydney, NSW 2000, Australia",
      addr("42", "Wallaby Way", "Sydney", "2000", "Australia")),
    c("address", "1000 rue Sherbrooke Ouest, Montreal, QC H3A 3G4, Canada",
      addr("1000", "rue Sherbrooke Ouest", "Montreal", "H3A 3G4", "Canada")),
    c("address", "Hauptstrasse 5, 10115 Berlin, Germany", addr("5", "Hauptstrasse", "Berlin", "10115", "Germany")),
    c("address", "77 Massachusetts Ave, Cambridge, MA 02139",
      addr("77", "Massachusetts Ave", "Cambridge", "02139", None)),
    c("address", "10 Downing Street", addr("10", "Downing Street", None, None, None)),
    c("address", "somewhere in Paris", REFUSED), c("address", "no", REFUSED),
    # price
    c("price", "$25", {"amount": 25.0, "currency": "USD"}),
    c("price", "25 dollars", {"amount": 25.0, "currency": "USD"}),
    c("price", "€12,50", {"amount": 12.5, "currency": "EUR"}),
    c("price", "about 1,299.99 USD", {"amount": 1299.99, "currency": "USD"}),
    c("price", "£5", {"amount": 5.0, "currency": "GBP"}),
    c("price", "20 bucks", {"amount": 20.0, "currency": "USD"}),
    c("price", "CAD 40", {"amount": 40.0, "currency": "CAD"}),
    c("price", "it costs 15.5 euros", {"amount": 15.5, "currency": "EUR"}),
    c("price", "¥3000", {"amount": 3000.0, "currency": "JPY"}),
    c("price", "twenty dollars", {"amount": 20.0, "currency": "USD"}),
    c("price", "99.95", {"amount": 99.95, "currency": None}),
    c("price", "$3k", {"amount": 3000.0, "currency": "USD"}),
    c("price", "50 cents", {"amount": 0.5, "currency": "USD"}),
    c("price", "free?", REFUSED), c("price", "too expensive", REFUSED),
    # raw
    c("raw", "My printer won't connect to wifi", "My printer won't connect to wifi"),
    c("raw", "  hello  ", "  hello  "), c("raw", "42", "42"), c("raw", "", REFUSED), c("raw", "   ", REFUSED),
    # percentage
    c("percentage", "50%", 50), c("percentage", "12.5 %", 12.5), c("percentage", "fifty percent", 50),
    c("percentage", "about 30 per cent", 30), c("percentage", "75", 75), c("percentage", "a 15% discount", 15),
    c("percentage", "half", 50), c("percentage", "100%", 100), c("percentage", "twenty five percent", 25),
    c("percentage", "0.5%", 0.5), c("percentage", "none", 0), c("percentage", "a lot", REFUSED),
    # quantity
    c("quantity", "5 boxes", 5), c("quantity", "a dozen eggs", 12), c("quantity", "3kg", 3),
    c("quantity", "two pairs of socks", 2), c("quantity", "I'd like 10", 10), c("quantity", "a box of tea", 1),
    c("quantity", "twenty", 20), c("quantity", "1.5 liters", 1.5), c("quantity", "some", REFUSED),
    c("quantity", "-3", REFUSED),
    # color
    c("color", "red", colour("red", "#ff0000")), c("color", "Light Blue", colour("lightblue", "#add8e6")),
    c("color", "#00ff00", colour("lime", "#00ff00")), c("color", "#f00", colour("red", "#ff0000")),
    c("color", "rgb(0, 0, 255)", colour("blue", "#0000ff")), c("color", "purpel", colour("purple", "#800080")),
    c("color", "I love dark green", colour("darkgreen", "#006400")), c("color", "grey", colour("grey", "#808080")),
    c("color", "navy blue", colour("navy blue", "#000080")), c("color", "burgundy", colour("burgundy", "#800020")),
    c("color", "#123456", colour("midnightblue", "#123456")),  # nearest CSS name
    c("color", "my favourite is orange", colour("orange", "#ffa500")),
    c("color", "turqoise", colour("turquoise", "#40e0d0")), c("color", "rgb(300, 0, 0)", REFUSED),
    c("color", "I don't have one", REFUSED),
    # time_measurement (card unit minutes unless given)
    c("time_measurement", "2 hours", 120), c("time_measurement", "an hour and a half", 90),
    c("time_measurement", "1h30", 90), c("time_measurement", "half an hour", 30),
    c("time_measurement", "45", 45), c("time_measurement", "90 mins", 90),
    c("time_measurement", "1 hour 15 minutes", 75), c("time_measurement", "3 days", 3, {"unit": "d"}),
    c("time_measurement", "2 weeks", 14, {"unit": "days"}), c("time_measurement", "30 seconds", 0.5),
    c("time_measurement", "500ms", 0.5, {"unit": "s"}), c("time_measurement", "a week", 168, {"unit": "h"}),
    c("time_measurement", "2 and a half hours", 150), c("time_measurement", "in 15 days", 15, {"unit": "d"}),
    c("time_measurement", "one year", 12, {"unit": "month"}), c("time_measurement", "soon", REFUSED),
    # weight
    c("weight", "70kg", 70), c("weight", "150 pounds", 68.038856), c("weight", "5 lbs 3 oz", 2.35301),
    c("weight", "500 g", 0.5), c("weight", "about 12 stone", 76.203518), c("weight", "2 tonnes", 2000),
    c("weight", "250mg", 250, {"unit": "mg"}), c("weight", "8 oz", 226.796185, {"unit": "g"}),
    c("weight", "65", 65), c("weight", "1.5 kilos", 1.5), c("weight", "one pound", 1, {"unit": "lb"}),
    c("weight", "heavy", REFUSED),
    # volume
    c("volume", "2 liters", 2), c("volume", "500ml", 0.5), c("volume", "half a gallon", 1.892706),
    c("volume", "3 cups", 709.76471, {"unit": "ml"}), c("volume", "1 tbsp", 3, {"unit": "tsp"}),
    c("volume", "12 fl oz", 354.882355, {"unit": "ml"}), c("volume", "2 quarts", 0.5, {"unit": "gal"}),
    c("volume", "1 m3", 1000), c("volume", "33 cl", 0.33), c("volume", "a pint", 0.473176),
    c("volume", "5", 5), c("volume", "a splash", REFUSED),
    # temperature
    c("temperature", "70F", 21.11), c("temperature", "21 degrees celsius", 21),
    c("temperature", "98.6 degrees fahrenheit", 37), c("temperature", "300 kelvin", 26.85),
    c("temperature", "-5c", -5), c("temperature", "minus 10 degrees", -10), c("temperature", "37", 37),
    c("temperature", "20°C", 68, {"unit": "F"}), c("temperature", "0 celsius", 273.15, {"unit": "kelvin"}),
    c("temperature", "it's 100 farenheit outside", 37.78), c("temperature", "-300 c", REFUSED),
    c("temperature", "hot", REFUSED),
    # cron: {cron, repeatable}; recurring schedules, then one-time moments (repeatable false)
    c("cron", "every monday at 9am", sched("0 9 * * 1")), c("cron", "every 15 minutes", sched("*/15 * * * *")),
    c("cron", "weekdays at 8:30", sched("30 8 * * 1-5")), c("cron", "0 9 * * 1", sched("0 9 * * 1")),
    c("cron", "on the 1st of every month at noon", sched("0 12 1 * *")),
    c("cron", "every day at 3pm", sched("0 15 * * *")), c("cron", "daily at 7:45am", sched("45 7 * * *")),
    c("cron", "every hour", sched("0 * * * *")), c("cron", "every 2 hours", sched("0 */2 * * *")),
    c("cron", "weekends at 10am", sched("0 10 * * 0,6")),
    c("cron", "every monday and wednesday at 6pm", sched("0 18 * * 1,3")),
    c("cron", "at midnight every day", sched("0 0 * * *")), c("cron", "every friday", sched("0 0 * * 5")),
    c("cron", "*/5 * * * *", sched("*/5 * * * *")), c("cron", "every year on jan 1st", sched("0 0 1 1 *")),
    c("cron", "every five minutes", sched("*/5 * * * *")), c("cron", "every other day at 8am", sched("0 8 */2 * *")),
    c("cron", "once a day at 3pm", sched("0 15 * * *")), c("cron", "on mondays at 10", sched("0 10 * * 1")),
    c("cron", "tomorrow at 3pm", sched("0 15 13 3 *", False)),
    c("cron", "next friday at noon", sched("0 12 14 3 *", False)),
    c("cron", "April 5th at 9:15am", sched("15 9 5 4 *", False)),
    c("cron", "in 2 hours", sched("30 12 12 3 *", False)),
    c("cron", "every other tuesday", REFUSED), c("cron", "the last friday of the month", REFUSED),
    c("cron", "61 * * * *", REFUSED), c("cron", "whenever", REFUSED),
    # operating_system
    c("operating_system", "I use windows 11", {"name": "Windows", "version": "11"}),
    c("operating_system", "Mac OS X 10.15", {"name": "macOS", "version": "10.15"}),
    c("operating_system", "osx", {"name": "macOS", "version": None}),
    c("operating_system", "my macbook", {"name": "macOS", "version": None}),
    c("operating_system", "iphone", {"name": "iOS", "version": None}),
    c("operating_system", "iOS 17.2", {"name": "iOS", "version": "17.2"}),
    c("operating_system", "android 14", {"name": "Android", "version": "14"}),
    c("operating_system", "samsung galaxy", {"name": "Android", "version": None}),
    c("operating_system", "Ubuntu 22.04", {"name": "Linux", "version": "22.04"}),
    c("operating_system", "linux", {"name": "Linux", "version": None}),
    c("operating_system", "win10", {"name": "Windows", "version": "10"}),
    c("operating_system", "chromebook", {"name": "ChromeOS", "version": None}),
    c("operating_system", "a toaster", REFUSED), c("operating_system", "windows or linux", REFUSED),
    # people_count
    c("people_count", "a table for four", 4), c("people_count", "we are 5", 5), c("people_count", "party of 6", 6),
    c("people_count", "just me", 1), c("people_count", "me and my wife", 2),
    c("people_count", "two adults and two kids", 4), c("people_count", "me and 3 friends", 4),
    c("people_count", "8 people", 8), c("people_count", "a couple", 2), c("people_count", "twelve guests", 12),
    c("people_count", "the two of us", 2), c("people_count", "0", REFUSED), c("people_count", "a lot", REFUSED),
    # person
    c("person", "John Smith", {"first": "John", "last": "Smith"}),
    c("person", "my name is jane doe", {"first": "Jane", "last": "Doe"}),
    c("person", "I'm Maria Garcia", {"first": "Maria", "last": "Garcia"}),
    c("person", "it's Bob", {"first": "Bob", "last": None}),
    c("person", "Ludwig van Beethoven", {"first": "Ludwig", "last": "van Beethoven"}),
    c("person", "Jean-Luc Picard", {"first": "Jean-Luc", "last": "Picard"}),
    c("person", "call me Ishmael", {"first": "Ishmael", "last": None}),
    c("person", "Patrick O'Brien", {"first": "Patrick", "last": "O'Brien"}),
    c("person", "Ronald McDonald", {"first": "Ronald", "last": "McDonald"}),
    c("person", "John Fitzgerald Kennedy", {"first": "John", "last": "Kennedy"}),
    c("person", "Hi, I am Sam Lee, thanks", {"first": "Sam", "last": "Lee"}),
    c("person", "this is Anna Müller", {"first": "Anna", "last": "Müller"}),
    c("person", "john123", REFUSED), c("person", "why do you need it?", REFUSED),
    c("person", "none of your business", REFUSED), c("person", "", REFUSED),
    # datetime (now: Wed 2025-03-12 10:30 New York)
    c("datetime", "next friday at 3pm", "2025-03-14T15:00:00-04:00"),
    c("datetime", "tomorrow morning", "2025-03-13T09:00:00-04:00"),
    c("datetime", "in 2 weeks", "2025-03-26T00:00:00-04:00"),
    c("datetime", "can we do next friday at 3pm?", "2025-03-14T15:00:00-04:00"),
    c("datetime", "march 3rd", "2026-03-03T00:00:00-05:00"),
    c("datetime", "tomorrow at 9", "2025-03-13T09:00:00-04:00"),
    c("datetime", "today at 5:30pm", "2025-03-12T17:30:00-04:00"),
    c("datetime", "tonight", "2025-03-12T20:00:00-04:00"),
    c("datetime", "in 3 hours", "2025-03-12T13:30:00-04:00"),
    c("datetime", "in an hour", "2025-03-12T11:30:00-04:00"),
    c("datetime", "monday", "2025-03-17T00:00:00-04:00"),
    c("datetime", "next tuesday 10:30am", "2025-03-18T10:30:00-04:00"),
    c("datetime", "july 4", "2025-07-04T00:00:00-04:00"),
    c("datetime", "2025-04-01 14:00", "2025-04-01T14:00:00-04:00"),
    c("datetime", "April 5th at noon", "2025-04-05T12:00:00-04:00"),
    c("datetime", "day after tomorrow", "2025-03-14T00:00:00-04:00"),
    c("datetime", "in 3 days at 5pm", "2025-03-15T17:00:00-04:00"),
    c("datetime", "friday afternoon", "2025-03-14T15:00:00-04:00"),
    c("datetime", "how about thursday at 11", "2025-03-13T11:00:00-04:00"),
    c("datetime", "December 25, 2025", "2025-12-25T00:00:00-05:00"),
    c("datetime", "3pm", "2025-03-12T15:00:00-04:00"),
    c("datetime", "tmrw 8am", "2025-03-13T08:00:00-04:00"),
    c("datetime", "next week", "2025-03-19T00:00:00-04:00"),
    c("datetime", "in a month", "2025-04-12T00:00:00-04:00"),
    c("datetime", "at noon", "2025-03-12T12:00:00-04:00"),
    c("datetime", "whenever you want", REFUSED), c("datetime", "no", REFUSED),
    # entity_list
    c("entity_list", "Find a flight from San Francisco", "SFO", AIRPORTS),
    c("entity_list", "to Mumbai please", "BOM", AIRPORTS), c("entity_list", "Bombay", "BOM", AIRPORTS),
    c("entity_list", "mumbay", "BOM", AIRPORTS), c("entity_list", "nyc", "JFK", AIRPORTS),
    c("entity_list", "mumbay", REFUSED, {**AIRPORTS, "fuzzy": "strict"}),
    c("entity_list", "Bommbayy", "BOM", {**AIRPORTS, "fuzzy": "loose"}),
    c("entity_list", "Bommbayy", REFUSED, {**AIRPORTS, "fuzzy": "medium"}),
    c("entity_list", "a margarita pizza", "margherita", PIZZAS),
    c("entity_list", "ham and pineapple", "hawaiian", PIZZAS), c("entity_list", "veggie", "vegetarian", PIZZAS),
    c("entity_list", "peperoni", "pepperoni", PIZZAS), c("entity_list", "sushi", REFUSED, PIZZAS),
    c("entity_list", "London", REFUSED, AIRPORTS),
    # entity_regex
    c("entity_regex", "Find product BHZ-1234-UYT", "BHZ-1234-UYT", SKU),
    c("entity_regex", "ABC-0000-XYZ", "ABC-0000-XYZ", SKU), c("entity_regex", "abc-0000-xyz", REFUSED, SKU),
    c("entity_regex", "BHZ-12-UYT", REFUSED, SKU),
    c("entity_regex", "my card is 4111-1111-1111-1111", "4111-1111-1111-1111", CARD),
    c("entity_regex", "4111 1111 1111 1111", "4111 1111 1111 1111", CARD),
    c("entity_regex", "4111111111111111", "4111111111111111", CARD), c("entity_regex", "4111", REFUSED, CARD),
]
