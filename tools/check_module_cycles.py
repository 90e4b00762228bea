"""Fails when two sibling modules of a crate use each other (directly or round a loop).

Cargo already refuses cycles between the workspace's crates; inside a crate the compiler allows
them, so this walks every `crate::` and `super::` path of every module level and reports each
strongly connected group of siblings. Usage: python3 tools/check_module_cycles.py src crates/*/src
"""
import os
import re
import sys
from collections import defaultdict


def check(root):
    def modpath(f):
        rel=os.path.relpath(f,root)[:-3].split('/')
        if rel[-1] in('mod','lib','main'): rel=rel[:-1]
        return tuple(rel)
    files=[os.path.join(dp,f) for dp,_,fs in os.walk(root) for f in fs if f.endswith('.rs')]
    mods={modpath(f) for f in files}
    def resolve(base, parts):
        # longest existing module prefix
        best=None
        for i in range(len(parts),0,-1):
            if tuple(base+parts[:i]) in mods: return tuple(base+parts[:i])
        return None
    edges={}
    for f in files:
        m=modpath(f)
        s=re.sub(r'//[^\n]*','',open(f).read())
        refs=set()
        for path in re.findall(r'\bcrate((?:::[a-z_][a-z0-9_]*)+)',s):
            r=resolve([],path.strip(':').split('::'))
            if r: refs.add(r)
        for sup,path in re.findall(r'\b((?:super::)+)((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)',s):
            n=sup.count('super::')
            base=list(m[:-n]) if n<=len(m) else []
            r=resolve(base,path.split('::'))
            if r: refs.add(r)
        edges.setdefault(m,set()).update(refs)
    # sibling graph per parent
    sib=defaultdict(lambda: defaultdict(set))
    for m,rs in edges.items():
        for r in rs:
            # find common prefix
            k=0
            while k<min(len(m),len(r)) and m[k]==r[k]: k+=1
            if k<len(m) and k<len(r):
                parent=m[:k]; sib[parent][m[k]].add(r[k])
    found=False
    for parent,g in sib.items():
        idx={};low={};st=[];on=set();c=[0];res=[]
        nodes=set(g)|{w for v in g for w in g[v]}
        def sc(v):
            idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
            for w in g.get(v,()):
                if w not in idx: sc(w);low[v]=min(low[v],low[w])
                elif w in on: low[v]=min(low[v],idx[w])
            if low[v]==idx[v]:
                comp=[]
                while True:
                    w=st.pop();on.discard(w);comp.append(w)
                    if w==v:break
                if len(comp)>1: res.append(sorted(comp))
        for v in nodes:
            if v not in idx: sc(v)
        for comp in res:
            found=True
            print(root + ': cycle in ' + ('::'.join(parent) or 'crate') + ':', comp, {a:sorted(g.get(a,set())&set(comp)) for a in comp})
    if not found:
        print(root + ': no module cycles')

    return found


if __name__ == "__main__":
    cycles = [check(root) for root in sys.argv[1:]]
    sys.exit(1 if any(cycles) else 0)
