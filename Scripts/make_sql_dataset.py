#!/usr/bin/env python3
"""Text-to-SQL chat dataset for LoRA fine-tuning, generated from templates (Graft's own work).

Writes, under Datasets/sql/:

    train.jsonl    ~400 examples, one JSON object a line
    valid.jsonl    ~40 examples, same shape
    heldout.json   8 prompts in neither file, each with its expected SQL, for showing
                   the base model's answers next to the adapted model's
    README.md      provenance, schema, template families, counts, license

Every line has the chat-messages shape and nothing else:

    {"messages": [{"role": "user", "content": "<English question>"},
                  {"role": "assistant", "content": "SELECT ...;"}]}

Nothing is downloaded or copied: every question and answer comes from the templates below,
filled with values from small fixed vocabularies and shuffled by `random.Random(0)`, so the
output is the same on every run and machine (byte for byte), and the data is the project's own.
The schema stays implicit (no system message) and is the same in every example:

    employees(id, name, department, salary, hire_year, city)
    orders(id, customer, product, quantity, price, order_year)
    products(id, name, category, price, stock)

Answers use one canonical SQL style: uppercase keywords, single-quoted strings, `o`/`p` aliases
in joins (orders o JOIN products p ON o.product = p.name), one statement ending with `;`.
User texts are unique across the three files (compared lowercased, without punctuation), and a
held-out prompt's SQL never appears as an answer in train or valid, so the held-out answers
cannot be recalled verbatim; they need the pattern.

Run it (python3, standard library only; output paths are relative to the script, so any cwd works):

    python3 Scripts/make_sql_dataset.py
"""

import itertools
import json
import os
import random
import re

SEED = 0
N_TRAIN = 400
N_VALID = 40
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Datasets", "sql")

# Small vocabularies. Product names double as orders.product values (the join key).
DEPARTMENTS = ["Sales", "Engineering", "Marketing", "Finance", "Support", "HR"]
CITIES = ["Boston", "Denver", "Austin", "Seattle", "Chicago", "Miami"]
CATEGORIES = ["Books", "Toys", "Electronics", "Garden", "Kitchen", "Sports"]
PRODUCTS = ["Laptop", "Headphones", "Blender", "Tent", "Novel", "Puzzle", "Kettle", "Football"]
CUSTOMERS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"]
YEARS = [2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023]
SALARIES = [40000, 50000, 60000, 70000, 80000, 90000, 100000]
PRICES = [10, 20, 50, 100, 200, 500]
STOCKS = [5, 10, 20, 50, 100]
QUANTITIES = [2, 5, 10, 20]
TOP_N = [3, 5, 10]
GROUP_COUNTS = [2, 3, 5, 10]
LETTERS = ["A", "B", "C", "D", "J", "M", "S", "T"]


def money(v):
    return f"{v:,}"


def year_ranges():
    return [(a, b) for a, b in itertools.combinations(YEARS, 2) if 2 <= b - a <= 4]


def salary_ranges():
    return [(a, b) for a, b in itertools.combinations(SALARIES, 2) if b - a <= 30000]


def price_ranges():
    return [(a, b) for a, b in itertools.combinations(PRICES, 2)]


# Each family: (name, SQL construct, phrasings, value tuples, sql(*values)).
# A phrasing is a format string over the keyword names in the value dict.
FAMILIES = []


def family(name, construct, phrasings, values, sql):
    FAMILIES.append((name, construct, phrasings, list(values), sql))


family("emp_by_department", "WHERE =",
       ["List the employees in the {d} department.",
        "Show me everyone who works in {d}.",
        "Who works in the {d} department?",
        "Give me the names of all {d} employees."],
       [{"d": d} for d in DEPARTMENTS],
       lambda v: f"SELECT name FROM employees WHERE department = '{v['d']}';")

family("emp_by_city", "WHERE =",
       ["Which employees are based in {c}?",
        "List the names of employees who live in {c}.",
        "Show me all employees in {c}.",
        "Who are the employees located in {c}?"],
       [{"c": c} for c in CITIES],
       lambda v: f"SELECT name FROM employees WHERE city = '{v['c']}';")

family("emp_dept_and_city", "WHERE ... AND",
       ["List the {d} employees in {c}.",
        "Which employees work in {d} and live in {c}?",
        "Show me {d} staff based in {c}.",
        "Who in the {d} department is located in {c}?"],
       [{"d": d, "c": c} for d in DEPARTMENTS for c in CITIES],
       lambda v: f"SELECT name FROM employees WHERE department = '{v['d']}' AND city = '{v['c']}';")

family("emp_salary_above", "WHERE >",
       ["Which employees earn more than {s}?",
        "List employees with a salary above {s}, with their salaries.",
        "Show me the names and salaries of employees making over {s}.",
        "Who has a salary greater than {s}?"],
       [{"s": money(s), "n": s} for s in SALARIES],
       lambda v: f"SELECT name, salary FROM employees WHERE salary > {v['n']};")

family("emp_hired_after", "WHERE > / <",
       ["Which employees were hired after {y}?",
        "List the employees hired before {y}.",
        "Show me everyone who joined after {y}.",
        "Who was hired before {y}?"],
       [{"y": y} for y in YEARS],
       # phrasings 0 and 2 say "after", 1 and 3 say "before"; handled in expand()
       None)

family("emp_top_salaries", "ORDER BY ... LIMIT",
       ["Who are the {k} highest paid employees?",
        "Show me the top {k} salaries and who earns them.",
        "List the {k} employees with the highest salary.",
        "Which {k} employees earn the most?"],
       [{"k": k} for k in TOP_N],
       lambda v: f"SELECT name, salary FROM employees ORDER BY salary DESC LIMIT {v['k']};")

family("emp_newest_in_dept", "WHERE + ORDER BY ... LIMIT",
       ["Who are the {k} most recently hired employees in {d}?",
        "List the {k} newest hires in the {d} department.",
        "Show me the {k} latest {d} hires."],
       [{"k": k, "d": d} for k in TOP_N for d in DEPARTMENTS],
       lambda v: (f"SELECT name, hire_year FROM employees WHERE department = '{v['d']}' "
                  f"ORDER BY hire_year DESC LIMIT {v['k']};"))

family("products_cheapest", "ORDER BY ... LIMIT",
       ["What are the {k} cheapest products?",
        "List the {k} lowest priced products with their prices.",
        "Show me the {k} least expensive products."],
       [{"k": k} for k in TOP_N],
       lambda v: f"SELECT name, price FROM products ORDER BY price ASC LIMIT {v['k']};")

family("count_by_department", "COUNT WHERE",
       ["How many employees work in {d}?",
        "How many people are in the {d} department?",
        "Count the employees in {d}.",
        "What is the number of {d} employees?"],
       [{"d": d} for d in DEPARTMENTS],
       lambda v: f"SELECT COUNT(*) FROM employees WHERE department = '{v['d']}';")

family("count_orders_year", "COUNT WHERE",
       ["How many orders were placed in {y}?",
        "Count the orders from {y}.",
        "What is the number of orders in {y}?"],
       [{"y": y} for y in YEARS],
       lambda v: f"SELECT COUNT(*) FROM orders WHERE order_year = {v['y']};")

family("avg_salary_department", "AVG WHERE",
       ["What is the average salary in {d}?",
        "What is the average salary of {d} employees?",
        "Show me the mean salary for the {d} department.",
        "How much do {d} employees earn on average?"],
       [{"d": d} for d in DEPARTMENTS],
       lambda v: f"SELECT AVG(salary) FROM employees WHERE department = '{v['d']}';")

family("max_min_salary_city", "MAX / MIN WHERE",
       ["What is the highest salary in {c}?",
        "What is the lowest salary in {c}?",
        "Show me the maximum salary of employees in {c}.",
        "Show me the minimum salary of employees in {c}."],
       [{"c": c} for c in CITIES],
       None)  # MAX for phrasings 0 and 2, MIN for 1 and 3

family("sum_quantity_product", "SUM WHERE",
       ["How many units of {p} were ordered in total?",
        "What is the total quantity ordered of {p}?",
        "Sum the quantity of all {p} orders."],
       [{"p": p} for p in PRODUCTS],
       lambda v: f"SELECT SUM(quantity) FROM orders WHERE product = '{v['p']}';")

family("revenue_customer", "SUM expression WHERE",
       ["What is the total amount spent by {u}?",
        "How much revenue came from {u}?",
        "Show me the total value of orders from {u}."],
       [{"u": u} for u in CUSTOMERS],
       lambda v: f"SELECT SUM(quantity * price) FROM orders WHERE customer = '{v['u']}';")

family("group_count", "GROUP BY COUNT",
       ["How many employees are in each department?",
        "Count the employees per department.",
        "Show me the headcount of every department.",
        "How many employees are in each city?",
        "Count the employees per city.",
        "Show me the number of employees in every city.",
        "How many products are in each category?",
        "Count the products per category.",
        "How many orders did each customer place?",
        "Count the orders per customer.",
        "How many orders were placed in each year?",
        "Count the orders per year."],
       [{}],
       None)

family("group_avg", "GROUP BY AVG / SUM / MAX",
       ["What is the average salary in each department?",
        "Show me the average salary per department.",
        "What is the average salary in each city?",
        "Show me the average salary per city.",
        "What is the average price in each product category?",
        "Show me the average product price per category.",
        "What is the total stock in each category?",
        "Show me the total stock per category.",
        "What is the highest salary in each department?",
        "Show me the maximum salary per department.",
        "How many units has each customer ordered in total?",
        "Show me the total quantity ordered per product."],
       [{}],
       None)

family("having_count", "GROUP BY ... HAVING",
       ["Which departments have more than {n} employees?",
        "List the departments with over {n} employees.",
        "Which cities have more than {n} employees?",
        "Show me the cities with over {n} employees.",
        "Which customers placed more than {n} orders?",
        "List the customers with over {n} orders."],
       [{"n": n} for n in GROUP_COUNTS],
       None)

family("having_avg", "GROUP BY ... HAVING AVG",
       ["Which departments have an average salary above {s}?",
        "List the departments whose average salary is over {s}.",
        "Which categories have an average price above {pr}?",
        "List the product categories with an average price over {pr}."],
       [{"s": money(s), "n": s, "pr": pr} for s, pr in zip(SALARIES, PRICES + [1000])],
       None)

family("between_salary", "BETWEEN",
       ["Which employees earn between {a} and {b}?",
        "List the employees with salaries from {a} to {b}.",
        "Show me everyone whose salary is between {a} and {b}."],
       [{"a": money(a), "b": money(b), "na": a, "nb": b} for a, b in salary_ranges()],
       lambda v: f"SELECT name, salary FROM employees WHERE salary BETWEEN {v['na']} AND {v['nb']};")

family("between_year", "BETWEEN",
       ["Which employees were hired between {a} and {b}?",
        "List the orders placed between {a} and {b}.",
        "Show me employees who joined from {a} to {b}.",
        "Show me all orders from {a} to {b}."],
       [{"a": a, "b": b} for a, b in year_ranges()],
       None)

family("between_price", "BETWEEN",
       ["Which products cost between {a} and {b}?",
        "List the products priced from {a} to {b}.",
        "Show me products with a price between {a} and {b}."],
       [{"a": a, "b": b} for a, b in price_ranges()],
       lambda v: f"SELECT name, price FROM products WHERE price BETWEEN {v['a']} AND {v['b']};")

family("in_cities", "IN",
       ["Which employees are in {a} or {b}?",
        "List the employees based in {a} or {b}.",
        "Show me everyone located in either {a} or {b}."],
       [{"a": a, "b": b} for a, b in itertools.permutations(CITIES, 2)],
       lambda v: f"SELECT name FROM employees WHERE city IN ('{v['a']}', '{v['b']}');")

family("in_categories", "IN",
       ["Which products are in the {a} or {b} category?",
        "List the products in {a} or {b}.",
        "Show me all {a} and {b} products."],
       [{"a": a, "b": b} for a, b in itertools.permutations(CATEGORIES, 2)],
       lambda v: f"SELECT name FROM products WHERE category IN ('{v['a']}', '{v['b']}');")

family("like_prefix", "LIKE",
       ["Which employees have a name starting with {l}?",
        "List the employees whose names begin with {l}.",
        "Which products have names that start with {l}?",
        "Show me the products whose name begins with {l}."],
       [{"l": l} for l in LETTERS],
       None)

family("like_customer", "LIKE",
       ["Which orders are from customers whose name contains {s}?",
        "List the orders of customers with {s} in their name."],
       [{"s": s} for s in ["co", "ex", "in", "ar", "el", "ol"]],
       lambda v: f"SELECT * FROM orders WHERE customer LIKE '%{v['s']}%';")

family("distinct", "DISTINCT",
       ["Which cities do {d} employees live in?",
        "List the distinct cities of the {d} department.",
        "Which products did customers order in {y}?",
        "List the distinct customers who ordered in {y}.",
        "What product categories are there?",
        "List all the different departments."],
       [{"d": d, "y": y} for d, y in zip(DEPARTMENTS + DEPARTMENTS[:2], YEARS)],
       None)

family("products_low_stock", "WHERE <",
       ["Which products have fewer than {n} items in stock?",
        "List the products with stock below {n}.",
        "Show me products that are running low, under {n} in stock."],
       [{"n": n} for n in STOCKS],
       lambda v: f"SELECT name, stock FROM products WHERE stock < {v['n']};")

family("products_category_under", "WHERE ... AND <",
       ["Which {c} products cost less than {p}?",
        "List the {c} products under {p}.",
        "Show me {c} items priced below {p}."],
       [{"c": c, "p": p} for c in CATEGORIES for p in PRICES[1:]],
       lambda v: f"SELECT name, price FROM products WHERE category = '{v['c']}' AND price < {v['p']};")

family("orders_customer_year", "WHERE ... AND",
       ["What did {u} order in {y}?",
        "List the orders {u} placed in {y}.",
        "Show me {u}'s orders from {y}."],
       [{"u": u, "y": y} for u in CUSTOMERS for y in YEARS],
       lambda v: (f"SELECT product, quantity FROM orders WHERE customer = '{v['u']}' "
                  f"AND order_year = {v['y']};"))

family("orders_big", "WHERE >=",
       ["Which orders have a quantity of at least {q}?",
        "List the orders of {q} or more units.",
        "Show me orders where at least {q} units were bought."],
       [{"q": q} for q in QUANTITIES],
       lambda v: f"SELECT * FROM orders WHERE quantity >= {v['q']};")

family("join_category", "JOIN ... WHERE",
       ["Which customers ordered {c} products?",
        "List the customers who bought something from the {c} category.",
        "Show me the customers and quantities of orders for {c} products."],
       [{"c": c} for c in CATEGORIES],
       None)

family("join_low_stock", "JOIN ... WHERE",
       ["Which orders are for products with fewer than {n} in stock?",
        "List the customers who ordered products with stock below {n}."],
       [{"n": n} for n in STOCKS],
       None)

family("join_group_category", "JOIN ... GROUP BY",
       ["How many units were ordered in each product category?",
        "Show me the total quantity ordered per category.",
        "How many orders are there for each product category?",
        "Count the orders per product category."],
       [{}],
       None)


# SQL for the families whose answer depends on the phrasing as well as the values.
JOIN = "FROM orders o JOIN products p ON o.product = p.name"

SPECIAL = {
    "emp_hired_after": lambda i, v: f"SELECT name FROM employees WHERE hire_year {'>' if i in (0, 2) else '<'} {v['y']};",
    "max_min_salary_city": lambda i, v: f"SELECT {'MAX' if i in (0, 2) else 'MIN'}(salary) FROM employees WHERE city = '{v['c']}';",
    "group_count": lambda i, v: [
        "SELECT department, COUNT(*) FROM employees GROUP BY department;",
        "SELECT city, COUNT(*) FROM employees GROUP BY city;",
        "SELECT category, COUNT(*) FROM products GROUP BY category;",
        "SELECT customer, COUNT(*) FROM orders GROUP BY customer;",
        "SELECT order_year, COUNT(*) FROM orders GROUP BY order_year;",
    ][[0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4][i]],
    "group_avg": lambda i, v: [
        "SELECT department, AVG(salary) FROM employees GROUP BY department;",
        "SELECT city, AVG(salary) FROM employees GROUP BY city;",
        "SELECT category, AVG(price) FROM products GROUP BY category;",
        "SELECT category, SUM(stock) FROM products GROUP BY category;",
        "SELECT department, MAX(salary) FROM employees GROUP BY department;",
        "SELECT customer, SUM(quantity) FROM orders GROUP BY customer;",
        "SELECT product, SUM(quantity) FROM orders GROUP BY product;",
    ][[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6][i]],
    "having_count": lambda i, v: [
        f"SELECT department FROM employees GROUP BY department HAVING COUNT(*) > {v['n']};",
        f"SELECT city FROM employees GROUP BY city HAVING COUNT(*) > {v['n']};",
        f"SELECT customer FROM orders GROUP BY customer HAVING COUNT(*) > {v['n']};",
    ][i // 2],
    "having_avg": lambda i, v: [
        f"SELECT department FROM employees GROUP BY department HAVING AVG(salary) > {v['n']};",
        f"SELECT category FROM products GROUP BY category HAVING AVG(price) > {v['pr']};",
    ][i // 2],
    "between_year": lambda i, v: [
        f"SELECT name FROM employees WHERE hire_year BETWEEN {v['a']} AND {v['b']};",
        f"SELECT * FROM orders WHERE order_year BETWEEN {v['a']} AND {v['b']};",
    ][i % 2],
    "like_prefix": lambda i, v: [
        f"SELECT name FROM employees WHERE name LIKE '{v['l']}%';",
        f"SELECT name FROM products WHERE name LIKE '{v['l']}%';",
    ][i // 2],
    "distinct": lambda i, v: [
        f"SELECT DISTINCT city FROM employees WHERE department = '{v['d']}';",
        f"SELECT DISTINCT product FROM orders WHERE order_year = {v['y']};",
        f"SELECT DISTINCT customer FROM orders WHERE order_year = {v['y']};",
        "SELECT DISTINCT category FROM products;",
        "SELECT DISTINCT department FROM employees;",
    ][[0, 0, 1, 2, 3, 4][i]],
    "join_category": lambda i, v: [
        f"SELECT DISTINCT o.customer {JOIN} WHERE p.category = '{v['c']}';",
        f"SELECT o.customer, o.quantity {JOIN} WHERE p.category = '{v['c']}';",
    ][0 if i < 2 else 1],
    "join_low_stock": lambda i, v: [
        f"SELECT o.* {JOIN} WHERE p.stock < {v['n']};",
        f"SELECT DISTINCT o.customer {JOIN} WHERE p.stock < {v['n']};",
    ][i],
    "join_group_category": lambda i, v: [
        f"SELECT p.category, SUM(o.quantity) {JOIN} GROUP BY p.category;",
        f"SELECT p.category, COUNT(*) {JOIN} GROUP BY p.category;",
    ][i // 2],
}

# Held-out prompts: one unseen combination from each of these families (their SQL is kept out of
# train and valid too). Chosen to cover filters, top-n, aggregation, HAVING, BETWEEN, IN, LIKE, JOIN.
HELDOUT_FAMILIES = ["emp_dept_and_city", "emp_newest_in_dept", "avg_salary_department", "having_count",
                    "between_salary", "in_categories", "like_prefix", "join_category"]


def norm(text):
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def expand():
    """All (family, construct, question, sql) candidates of each family, in a seeded order."""
    rng = random.Random(SEED)
    pools = {}
    for name, construct, phrasings, values, sql in FAMILIES:
        items = []
        for i, p in enumerate(phrasings):
            fields = set(re.findall(r"{(\w+)}", p))
            seen_for_phrasing = set()
            for v in values:
                q = p.format(**v)
                if q in seen_for_phrasing:  # phrasing ignores the field that varies
                    continue
                seen_for_phrasing.add(q)
                s = SPECIAL[name](i, v) if sql is None else sql(v)
                items.append({"family": name, "construct": construct, "question": q, "sql": s})
                assert fields <= set(v), (name, p)
        rng.shuffle(items)
        pools[name] = items
    return pools, rng


def main():
    pools, rng = expand()
    used_text = set()

    heldout = []
    for fam in HELDOUT_FAMILIES:
        item = pools[fam].pop(0)
        heldout.append(item)
        used_text.add(norm(item["question"]))
    heldout_sql = {h["sql"] for h in heldout}

    # Round-robin over the families, taking each one's next unused candidate, until enough.
    order = [f[0] for f in FAMILIES]
    picked = []
    need = N_TRAIN + N_VALID
    while len(picked) < need:
        progressed = False
        for fam in order:
            pool = pools[fam]
            while pool:
                item = pool.pop(0)
                key = norm(item["question"])
                if key in used_text or item["sql"] in heldout_sql:
                    continue
                used_text.add(key)
                picked.append(item)
                progressed = True
                break
            if len(picked) == need:
                break
        if not progressed:
            raise SystemExit(f"templates exhausted at {len(picked)} examples")

    rng.shuffle(picked)
    valid, train = picked[:N_VALID], picked[N_VALID:]

    for item in heldout + picked:
        q, s = item["question"], item["sql"]
        assert len(q.split()) < 30, q
        # At most 115 characters; the longest answers measure 34 SmolLM2 tokens (graft tokenize).
        assert len(s) <= 120, s
        assert s.endswith(";") and s.count(";") == 1 and '"' not in s, s
    keys = [norm(i["question"]) for i in heldout + picked]
    assert len(keys) == len(set(keys))

    os.makedirs(OUT_DIR, exist_ok=True)

    def write_jsonl(path, items):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for it in items:
                msg = {"messages": [{"role": "user", "content": it["question"]},
                                    {"role": "assistant", "content": it["sql"]}]}
                f.write(json.dumps(msg, ensure_ascii=False) + "\n")

    write_jsonl(os.path.join(OUT_DIR, "train.jsonl"), train)
    write_jsonl(os.path.join(OUT_DIR, "valid.jsonl"), valid)
    with open(os.path.join(OUT_DIR, "heldout.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump([{"family": h["family"], "prompt": h["question"], "expected": h["sql"]} for h in heldout],
                  f, indent=2, ensure_ascii=False)
        f.write("\n")

    def per_family(items):
        counts = {}
        for it in items:
            counts[it["family"]] = counts.get(it["family"], 0) + 1
        return counts

    tc, vc = per_family(train), per_family(valid)
    rows = "\n".join(
        f"| `{name}` | {construct} | {len(phr)} | {tc.get(name, 0)} | {vc.get(name, 0)} | "
        f"{'1' if name in HELDOUT_FAMILIES else '0'} |"
        for name, construct, phr, _, _ in FAMILIES)
    n_phr = sum(len(f[2]) for f in FAMILIES)
    readme = f"""# sql: a small text-to-SQL chat dataset

English questions about one fixed three-table database, each answered with a single SQL query.
Made for a LoRA on SmolLM2-135M-Instruct (about 200 steps of batch 4 on a CPU) whose effect shows
on prompts it never saw.

## Provenance

Synthetic. Every example is generated by `Scripts/make_sql_dataset.py` from hand-written question
templates filled with values from small fixed vocabularies, shuffled by `random.Random({SEED})`;
nothing is downloaded, scraped or produced by another model. The script is deterministic: running

```sh
python3 Scripts/make_sql_dataset.py
```

rewrites these files byte for byte. Do not edit them by hand; change the script and rerun it.

License: the same as the Graft project (the data is the project's own work).

## Files

| file | what | count |
|---|---|---|
| `train.jsonl` | training examples | {len(train)} |
| `valid.jsonl` | validation examples | {len(valid)} |
| `heldout.json` | prompts for base-vs-adapted comparison, with expected SQL | {len(heldout)} |

`train.jsonl` and `valid.jsonl` hold one JSON object a line, all in the chat-messages shape:

```json
{{"messages": [{{"role": "user", "content": "How many employees work in Sales?"}}, {{"role": "assistant", "content": "SELECT COUNT(*) FROM employees WHERE department = 'Sales';"}}]}}
```

`heldout.json` is a JSON array of `{{"family", "prompt", "expected"}}` objects.

No user text appears twice across the three files (compared lowercased, punctuation removed).
Each held-out prompt is an unseen value combination of a template family that is in training,
and its expected SQL is never an answer in `train.jsonl` or `valid.jsonl`.

## Schema (implicit: no system message states it)

```sql
employees(id, name, department, salary, hire_year, city)
orders(id, customer, product, quantity, price, order_year)
products(id, name, category, price, stock)
```

`orders.product` holds a product name, so joins are `orders o JOIN products p ON o.product = p.name`.

Vocabularies:

- departments: {", ".join(DEPARTMENTS)}
- cities: {", ".join(CITIES)}
- categories: {", ".join(CATEGORIES)}
- products: {", ".join(PRODUCTS)}
- customers: {", ".join(CUSTOMERS)}
- years: {YEARS[0]}–{YEARS[-1]}

## Answer style

One statement, uppercase keywords, single-quoted strings, numbers without separators, `o`/`p`
aliases only in joins, ending with `;`. Questions are under 30 words (at most
24 SmolLM2 tokens); answers are at most 115 characters (at most 34 SmolLM2 tokens).

## Template families

{len(FAMILIES)} families, {n_phr} phrasings in all.

| family | SQL construct | phrasings | train | valid | held out |
|---|---|---|---|---|---|
{rows}
"""
    with open(os.path.join(OUT_DIR, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(readme)

    print(f"train {len(train)}, valid {len(valid)}, heldout {len(heldout)} -> {os.path.normpath(OUT_DIR)}")


if __name__ == "__main__":
    main()
