// Scenario families: for each problem type, several real-world settings (people, objects, verbs, place), each
// with its own wording. A question is told in one family and paraphrased in the others, so a paraphrase keeps
// the numbers, the chain of operations and the answer, and changes the story.
//
// Slots: {P} the main person, {Q} a second person, {he} {He} {his} {His} {him} pronouns for {P},
// {a} {b} {c} {d} the problem's numbers in order, {items} one of the family's items.
// Every number slot appears exactly once; templates hold no other digits and no apostrophes, and each stays
// within the demo tokenizer's 30-piece question budget (checked by the tests).
import type { ProblemTypeName } from './problem-types'

export interface ScenarioFamily {
  family: string
  template: string
  /** Interchangeable objects for the {items} slot. */
  items?: readonly string[]
}

export interface Person {
  name: string
  pronoun: 'he' | 'she'
}

export const people: readonly Person[] = [
  ...['Anna', 'Maria', 'Lily', 'Emma', 'Sofia', 'Grace', 'Mia', 'Zoe', 'Nora', 'Ruth', 'Hana', 'Lucy'].map((name): Person => ({
    name,
    pronoun: 'she',
  })),
  ...['Tom', 'Ben', 'Sam', 'Leo', 'Omar', 'Jack', 'Ravi', 'Max', 'Luis', 'Noah', 'Kai', 'Finn'].map((name): Person => ({
    name,
    pronoun: 'he',
  })),
]

export const scenarioFamilies: Record<ProblemTypeName, readonly ScenarioFamily[]> = {
  combine: [
    {
      family: 'orchard',
      template: '{P} picks {a} {items} in the morning and {b} more in the afternoon. How many {items} does {he} pick in all?',
      items: ['apples', 'pears', 'plums', 'peaches', 'lemons'],
    },
    {
      family: 'reading',
      template:
        '{P} reads {a} pages of a book on Monday and {b} pages on Tuesday. How many pages does {he} read on the two days?',
    },
    {
      family: 'aquarium',
      template: '{P} has {a} goldfish in one tank and {b} goldfish in another tank. How many goldfish does {he} have altogether?',
    },
    {
      family: 'bus',
      template:
        '{P} drives a bus that has {a} passengers. At the next stop, {b} more people get on. How many passengers are on the bus now?',
    },
    {
      family: 'bake-sale',
      template: '{P} bakes {a} muffins and {b} cookies for the school bake sale. How many treats does {he} bake?',
    },
    {
      family: 'savings',
      template: '{P} saves {a} dollars in March and {b} dollars in April. How many dollars does {he} save in the two months?',
    },
  ],
  'take-away': [
    {
      family: 'party',
      template: '{P} blows up {a} balloons for a party, but {b} of them pop. How many balloons does {he} have left?',
    },
    {
      family: 'bakery',
      template: '{P} bakes {a} loaves of bread and sells {b} of them. How many loaves of bread are left?',
    },
    {
      family: 'gift',
      template: '{P} has {a} {items} and gives {b} of them to a friend. How many {items} does {he} have now?',
      items: ['stickers', 'marbles', 'cards', 'stamps'],
    },
    {
      family: 'birds',
      template: '{P} counts {a} birds on a fence. Then {b} of them fly away. How many birds are still on the fence?',
    },
    {
      family: 'shopping',
      template: '{P} has {a} dollars and spends {b} dollars on a book. How many dollars does {he} have left?',
    },
    {
      family: 'cookie-jar',
      template: '{P} fills a jar with {a} cookies, and {his} family eats {b} of them. How many cookies are still in the jar?',
    },
  ],
  compare: [
    {
      family: 'collection',
      template: '{P} has {a} {items} and {Q} has {b} {items}. How many more {items} does {P} have than {Q}?',
      items: ['marbles', 'stamps', 'seashells', 'comic books'],
    },
    {
      family: 'basketball',
      template:
        'In a basketball game, {P} scores {a} points and {Q} scores {b} points. How many more points does {P} score than {Q}?',
    },
    {
      family: 'ages',
      template: '{P} is {a} years old and {Q} is {b} years old. How many years older is {P} than {Q}?',
    },
    {
      family: 'crayons',
      template: '{P} has a box of {a} crayons and {Q} has a box of {b} crayons. How many more crayons does {P} have?',
    },
    {
      family: 'running',
      template: '{P} runs {a} laps around the track and {Q} runs {b} laps. How many more laps does {P} run than {Q}?',
    },
    {
      family: 'fishing',
      template: 'On a fishing trip, {P} catches {a} fish and {Q} catches {b} fish. How many more fish does {P} catch than {Q}?',
    },
  ],
  'equal-groups': [
    {
      family: 'crayon-boxes',
      template: '{P} buys {a} boxes of crayons with {b} crayons in each box. How many crayons does {he} buy?',
    },
    {
      family: 'classroom',
      template: '{P} sets up {a} tables for a class and puts {b} chairs at each table. How many chairs does {he} need?',
    },
    {
      family: 'vegetable-garden',
      template: '{P} plants {a} rows of {items} with {b} {items} in each row. How many {items} does {he} plant?',
      items: ['carrots', 'onions', 'cabbages'],
    },
    {
      family: 'reading',
      template: '{P} reads {b} pages every day for {a} days. How many pages does {he} read?',
    },
    {
      family: 'fruit-bags',
      template: '{P} packs {a} bags with {b} oranges in each bag. How many oranges does {he} pack in all?',
    },
    {
      family: 'farm',
      template: '{P} has {a} pens on {his} farm, and each pen holds {b} sheep. How many sheep are on the farm?',
    },
  ],
  share: [
    {
      family: 'friends',
      template: '{P} shares {a} {items} equally among {b} friends. How many {items} does each friend get?',
      items: ['cookies', 'stickers', 'cards', 'candies'],
    },
    {
      family: 'egg-cartons',
      template: '{P} has {a} eggs and puts {b} eggs in each carton. How many cartons does {he} fill?',
    },
    {
      family: 'teams',
      template: 'Coach {P} splits {a} players into {b} equal teams. How many players are on each team?',
    },
    {
      family: 'ribbon',
      template: '{P} cuts a ribbon {a} inches long into {b} equal pieces. How many inches long is each piece?',
    },
    {
      family: 'seed-rows',
      template: '{P} plants {a} seeds in {b} equal rows. How many seeds are in each row?',
    },
    {
      family: 'tickets',
      template: '{P} pays {a} dollars for {b} concert tickets that each cost the same. How many dollars does one ticket cost?',
    },
  ],
  'add-then-take-away': [
    {
      family: 'stickers',
      template: '{P} has {a} stickers. {He} buys {b} more and gives {c} to {his} sister. How many stickers does {he} have now?',
    },
    {
      family: 'bus',
      template:
        '{P} drives a bus with {a} passengers. At a stop, {b} people get on and {c} get off. How many passengers are on the bus now?',
    },
    {
      family: 'strawberries',
      template:
        '{P} picks {a} strawberries, then picks {b} more and eats {c} of them. How many strawberries does {he} have left?',
    },
    {
      family: 'pocket-money',
      template:
        '{P} has {a} dollars. {He} earns {b} dollars washing cars and spends {c} dollars on lunch. How many dollars does {he} have now?',
    },
    {
      family: 'pond',
      template: '{P} sees {a} ducks on a pond. Then {b} more ducks land and {c} fly away. How many ducks are on the pond now?',
    },
    {
      family: 'bookshelf',
      template:
        '{P} has {a} books on a shelf. {He} adds {b} new books and lends {c} to friends. How many books are on the shelf now?',
    },
  ],
  'groups-then-add': [
    {
      family: 'pencils',
      template:
        '{P} buys {a} packs of pencils with {b} pencils in each pack. {He} already has {c} pencils. How many pencils does {he} have now?',
    },
    {
      family: 'reading',
      template: '{P} reads {b} pages a day for {a} days, then reads {c} more pages. How many pages does {he} read in all?',
    },
    {
      family: 'tulips',
      template: '{P} plants {a} rows of {b} tulips and {c} more tulips by the gate. How many tulips does {he} plant?',
    },
    {
      family: 'egg-baskets',
      template: '{P} fills {a} baskets with {b} eggs each and has {c} eggs left over. How many eggs did {he} start with?',
    },
    {
      family: 'school-show',
      template: '{P} sets out {a} rows of {b} chairs for a show, plus {c} chairs at the back. How many chairs does {he} set out?',
    },
    {
      family: 'weekly-savings',
      template:
        '{P} saves {b} dollars each week for {a} weeks. Then {his} aunt gives {him} {c} dollars. How many dollars does {he} have now?',
    },
  ],
  'groups-add-take-away': [
    {
      family: 'apples',
      template: '{P} buys {a} bags of {b} apples and picks {c} more. {He} eats {d} of them. How many apples does {he} have left?',
    },
    {
      family: 'hall-chairs',
      template:
        '{P} sets up {a} rows of {b} chairs and adds {c} more. Later, {d} chairs are taken away. How many chairs are left?',
    },
    {
      family: 'cafe-job',
      template:
        '{P} earns {b} dollars a day for {a} days and gets {c} dollars in tips. {He} spends {d} dollars. How many dollars does {he} have left?',
    },
    {
      family: 'bakery',
      template: '{P} bakes {a} trays of {b} rolls and {c} extra rolls, then sells {d} rolls. How many rolls are left?',
    },
    {
      family: 'crayons',
      template:
        '{P} has {a} boxes of {b} crayons and {c} loose crayons. {He} gives away {d} crayons. How many crayons does {he} keep?',
    },
    {
      family: 'beach',
      template:
        '{P} finds {b} shells a day for {a} days and {c} more on the last day. {He} gives {d} away. How many shells does {he} have now?',
    },
  ],
  'combine-take-away-share': [
    {
      family: 'stickers',
      template:
        '{P} has {a} stickers, gets {b} more and loses {c}. {He} shares the rest equally among {d} friends. How many stickers does each friend get?',
    },
    {
      family: 'fruit-picking',
      template:
        '{P} picks {a} apples and {b} pears, but {c} are bruised. {He} packs the rest into {d} equal bags. How many fruits are in each bag?',
    },
    {
      family: 'practice',
      template:
        'Coach {P} trains {a} boys and {b} girls, and {c} leave early. The rest form {d} equal teams. How many players are on each team?',
    },
    {
      family: 'baking',
      template:
        '{P} bakes {a} muffins and {b} cupcakes, then eats {c}. {He} puts the rest equally on {d} plates. How many treats are on each plate?',
    },
    {
      family: 'money-jars',
      template:
        '{P} has {a} dollars, earns {b} more and spends {c}. {He} splits the rest equally among {d} jars. How many dollars go in each jar?',
    },
    {
      family: 'necklaces',
      template:
        '{P} has {a} red beads and {b} blue beads but loses {c}. {He} strings the rest into {d} equal necklaces. How many beads are on each necklace?',
    },
  ],
}

const PRONOUNS = {
  he: { he: 'he', He: 'He', his: 'his', His: 'His', him: 'him' },
  she: { he: 'she', He: 'She', his: 'her', His: 'Her', him: 'her' },
} as const

const NUMBER_SLOTS = ['a', 'b', 'c', 'd'] as const

/** Fills a family's template; `other` is the second person ({Q}), `item` the {items} choice. */
export function tell(
  family: ScenarioFamily,
  numbers: readonly number[],
  person: Person,
  other: Person,
  item: string | undefined,
): string {
  const slots: Record<string, string | undefined> = {
    P: person.name,
    Q: other.name,
    items: item,
    ...PRONOUNS[person.pronoun],
    ...Object.fromEntries(numbers.map((n, i) => [NUMBER_SLOTS[i], String(n)])),
  }
  return family.template.replace(/\{(\w+)\}/g, (_, slot: string) => {
    const value = slots[slot]
    if (value === undefined) throw new Error(`Demo scenario "${family.family}" has slot {${slot}} with nothing to fill it.`)
    return value
  })
}
