"""Collapsed py-spy stacks -> share of the server's main-thread samples by layer (innermost library frame wins)."""
import collections, re, sys

def frames(stack):
    out = []
    for f in stack.split(';'):
        m = re.match(r'(.*) \((.*?):?(\d*)\)$', f)
        out.append((m.group(1), m.group(2)) if m else (f, ''))
    return out

def layer(fs):
    names = [n for n, _ in fs]
    files = [p for _, p in fs]
    leaf_name, leaf_file = fs[-1]
    if leaf_name in ('Runner.run',) or 'selectors.py' in leaf_file or leaf_name.startswith('select') or 'base_events.py' in leaf_file and 'run_once' in leaf_name:
        return 'idle (event loop waiting)'
    joined = ';'.join(names)
    for name, path in reversed(fs):
        if path.startswith('asyncpg/'):
            return 'asyncpg (protocol, encode/decode)'
        if path.startswith('sqlalchemy/'):
            if 'sql/compiler' in path or 'cache_key' in path or 'sql/' in path and ('coercions' in path or 'elements' in path or 'selectable' in path or 'dml' in path or 'base' in path or 'visitors' in path or 'traversals' in path or 'annotation' in path or 'schema' in path or 'functions' in path or 'operators' in path or 'lambdas' in path or 'sqltypes' in path or 'type_api' in path):
                return 'SQLAlchemy: statement build/compile/cache key'
            if 'orm/loading' in path or 'orm/strategies' in path or 'orm/state' in path or 'orm/attributes' in path or 'orm/identity' in path or 'orm/instrumentation' in path or 'orm/mapper' in path or 'orm/instrumentation' in path or 'engine/result' in path or 'engine/row' in path or 'orm/query' in path or 'orm/context' in path or 'orm/unitofwork' in path or 'orm/persistence' in path or 'orm/dependency' in path:
                return 'SQLAlchemy: ORM load/flush, results'
            if 'dialects/' in path:
                return 'SQLAlchemy: asyncpg adapter (dialect)'
            if 'pool/' in path:
                return 'SQLAlchemy: session/connection/transaction'
            return 'SQLAlchemy: session/connection/transaction'
        if path.startswith('pydantic'):
            return 'pydantic (validate/serialise)'
        if path.startswith('linli/'):
            if 'accounts/' in path: return 'linli: token check (accounts)'
            return 'linli: own code'
        if path.startswith('fastapi/'):
            if 'dependencies/' in path: return 'FastAPI: dependency resolution'
            if '_compat' in path or 'encoders' in path: return 'pydantic (validate/serialise)'
            return 'FastAPI: routing/endpoint glue'
        if path.startswith('starlette/'):
            return 'Starlette: middleware/request/response'
        if path.startswith('uvicorn/') or path.startswith('httptools'):
            return 'uvicorn/httptools (parse/write)'
        if path.startswith('greenlet') or name.startswith('greenlet'):
            return 'SQLAlchemy: greenlet bridge'
        if path.startswith('anyio/'):
            return 'anyio (threads/task groups)'
    if 'asyncio' in ''.join(files):
        return 'asyncio (tasks, callbacks)'
    return 'other'

def main(path):
    c = collections.Counter(); dep = collections.Counter(); total = 0
    for line in open(path):
        stack, _, n = line.rstrip().rpartition(' ')
        n = int(n); fs = frames(stack)
        if fs[0][0].startswith('Thread._bootstrap'):
            continue  # thread-pool threads waiting (not the event loop)
        if not stack.strip():
            continue
        total += n; c[layer(fs)] += n
        # which dependency the dependency-resolution time sits under
        for nm, p in fs:
            if p.startswith('linli/http') or (p.startswith('linli/') and nm in ('app_context',)):
                dep[nm] += n; break
    print(f'{path}: {total} main-thread samples')
    for k, v in c.most_common():
        print(f'  {100*v/total:5.1f}%  {k}')
    return c, total

if __name__ == '__main__':
    for p in sys.argv[1:]: main(p)
